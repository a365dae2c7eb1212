"""Reading ``template.yaml`` and the code it deploys, for the template and end-to-end tests.

- :func:`load_template` parses the SAM template with cfn-lint's decoder (it understands the
  short intrinsic forms ``!Ref``, ``!Sub``, ``!GetAtt``, ``!If``).
- :class:`Resolver` turns intrinsics into strings, given values for the resources and
  parameters (fake ARNs in the template test, moto's table and bucket in the end-to-end test).
- :func:`module_closure` follows the imports of a handler module through ``functions/`` and
  ``storage_adapter/`` (function-level imports included — the code imports heavy modules
  lazily), so a test can ask what a Lambda function's code can reach: which environment
  variables it reads, which store and blob calls it makes.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
CODE_PACKAGES = ("functions", "storage_adapter")

#: Modules that never run in the AWS layout: the SQLite backend (the functions get a
#: ``dynamodb://`` store URL) and the local-only CLI of the PDF package.
NOT_IN_AWS = {"storage_adapter.sqlite", "functions.pdf.cli"}

ENV_NAME = re.compile(r"""["']((?:BILLOW|POWERTOOLS|AWS)_[A-Z0-9_]+|LOG_LEVEL)["']""")


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    from cfnlint.decode import decode

    template, matches = decode(str(path))
    assert not matches, [str(m) for m in matches]
    assert template is not None
    return template


def resources_of_type(template: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def functions(template: Mapping[str, Any]) -> dict[str, Any]:
    return resources_of_type(template, "AWS::Serverless::Function")


def function_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with the template's ``Globals.Function`` merged in (as SAM does:
    the function wins; environment variables are merged key by key)."""
    glob = dict(template.get("Globals", {}).get("Function", {}))
    own = dict(template["Resources"][logical_id]["Properties"])
    merged = {**glob, **own}
    env = {
        **glob.get("Environment", {}).get("Variables", {}),
        **own.get("Environment", {}).get("Variables", {}),
    }
    merged["Environment"] = {"Variables": env}
    return merged


# --- intrinsics ----------------------------------------------------------------------------------

_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass
class Resolver:
    """Resolves intrinsic functions against known values.

    ``values`` maps ``Ref`` targets (``"Table"``, ``"AWS::Region"``, parameters) and
    ``"Resource.Attribute"`` for ``GetAtt`` to strings; ``conditions`` maps condition names to
    booleans.
    """

    values: Mapping[str, str]
    conditions: Mapping[str, bool] = field(default_factory=dict)

    def __call__(self, node: Any) -> Any:
        if isinstance(node, str):
            return str(node)
        if isinstance(node, list):
            return [self(item) for item in node]
        if isinstance(node, dict) and len(node) == 1:
            ((name, arg),) = node.items()
            if name == "Ref":
                return self._value(arg)
            if name == "Fn::GetAtt":
                target = ".".join(arg) if isinstance(arg, list) else arg
                return self._value(target)
            if name == "Fn::Sub":
                return self._sub(arg)
            if name == "Fn::If":
                cond, yes, no = arg
                return self(yes if self.conditions[cond] else no)
            if name == "Fn::Join":
                sep, items = arg
                return str(sep).join(self(items))
        if isinstance(node, dict):
            return {k: self(v) for k, v in node.items()}
        return node

    def _value(self, name: str) -> str:
        if name not in self.values:
            raise KeyError(f"no value for {name!r}")
        return self.values[name]

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, local = arg
            local = {k: self(v) for k, v in local.items()}
        else:
            text, local = arg, {}

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            return local[name] if name in local else self._value(name)

        return _SUB.sub(repl, str(text)).replace("${!", "${")


# --- the code a function can reach ---------------------------------------------------------------


def module_path(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_modules(package: str) -> list[str]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(f"{package}.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__")


def _imports(module: str, source: str) -> Iterable[str]:
    tree = ast.parse(source)
    is_package = module_path(module) is not None and module_path(module).name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                prefix = f"{base}.{node.module}" if node.module else base
            else:
                prefix = node.module or ""
            yield prefix
            for alias in node.names:
                yield f"{prefix}.{alias.name}"


@cache
def module_closure(start: str, exclude: frozenset[str] = frozenset()) -> frozenset[str]:
    """Every module of ``functions``/``storage_adapter`` that ``start`` can import.

    ``exclude`` names modules or packages (prefixes) to leave out — e.g. ``functions.pdf``
    for a function that has the PDF rendered by the PDF function instead of in-process.
    """

    def excluded(name: str) -> bool:
        if name in NOT_IN_AWS:
            return True
        return any(name == e or name.startswith(e + ".") for e in exclude)

    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or excluded(name) or module_path(name) is None:
            continue
        seen.add(name)
        parts = name.split(".")
        # Importing a.b.c runs a/__init__ and a/b/__init__ too.
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        for imported in _imports(name, module_path(name).read_text()):
            if imported.split(".")[0] in CODE_PACKAGES:
                todo.append(imported)
        if name == "functions.services.registry":  # load_all() imports every service module
            todo.extend(_package_modules("functions.services"))
    return frozenset(seen)


def sources(modules: Iterable[str]) -> dict[str, str]:
    return {m: module_path(m).read_text() for m in sorted(modules)}  # type: ignore[union-attr]


def env_names_read(modules: Iterable[str]) -> dict[str, set[str]]:
    """Environment variable names (string literals shaped like one) per module."""
    found: dict[str, set[str]] = {}
    for module, text in sources(modules).items():
        for name in ENV_NAME.findall(text):
            found.setdefault(name, set()).add(module)
    return found


@dataclass(frozen=True)
class StoreUse:
    """What a function's code does with the store, read from its source."""

    queries_by_account: bool  # store.query(..., account_id=<an account>)
    queries_all_accounts: bool  # store.query(..., account_id=None) — the collection index
    deletes: bool  # tx.delete(...) — DeleteItem inside TransactWriteItems
    puts_blobs: bool
    reads_blobs: bool  # get_blob, or blob_url (a presigned GET)
    reads_due: bool = False  # store.due(...) — the sparse due index


def store_use(modules: Iterable[str]) -> StoreUse:
    by_account = all_accounts = deletes = puts = reads = due = False
    for module, text in sources(modules).items():
        if module.startswith("storage_adapter"):
            continue  # the adapter itself: what matters is what the functions call
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            attr = node.func.attr
            if attr == "query":
                for kw in node.keywords:
                    if kw.arg == "account_id":
                        if isinstance(kw.value, ast.Constant) and kw.value.value is None:
                            all_accounts = True
                        else:
                            by_account = True
            elif attr == "delete" and len(node.args) >= 2:  # tx.delete(collection, key, ...)
                deletes = True
            elif attr == "put_blob":
                puts = True
            elif attr in {"get_blob", "blob_url"}:
                reads = True
            elif attr == "due" and any(kw.arg == "up_to" for kw in node.keywords):
                due = True
    return StoreUse(by_account, all_accounts, deletes, puts, reads, due)
