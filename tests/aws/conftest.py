from __future__ import annotations

from tests.support.moto_server import moto_endpoint  # noqa: F401  (moto in server mode)
from tests.vies.conftest import vies  # noqa: F401  (VIES look-alike on loopback)
