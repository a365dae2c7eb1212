"""``GET /docs``: an interactive reference of every action, built in the browser from
``GET /api/schema.json`` by Swagger UI, whose files come from the ``swagger-ui-py`` package
(never a CDN: the Content-Security-Policy allows this origin only).

Nothing here is imported until ``/docs`` is asked for, and the files are read on first use:
the API function's cold start does not pay for the reference.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Our own files, then the package's, by the name they are served under.
OWN = {"": "index.html", "init.js": "init.js", "docs.css": "docs.css"}
VENDOR = ("swagger-ui-bundle.js", "swagger-ui.css")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
#: The same policy as the app's (``infra/server.py``), sent by the function itself in AWS.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'"
)


def vendor_dir() -> Path:
    """The static folder of the ``swagger_ui`` package, found without importing it."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@lru_cache(maxsize=16)
def asset(name: str) -> tuple[str, str] | None:
    """(text, content type) of ``/docs/<name>`` (``""`` is the page), or None."""
    if name in OWN:
        path = HERE / OWN[name]
    elif name in VENDOR:
        path = vendor_dir() / name
    else:
        return None
    return path.read_text(encoding="utf-8"), TYPES[path.suffix]
