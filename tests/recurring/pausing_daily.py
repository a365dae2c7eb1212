"""``billow`` that stops for good after the N-th invoice its daily run commits, for a test to
SIGKILL it at that exact point: ``python pausing_daily.py N SIGNAL_FILE daily --today ...``.

It replaces :func:`functions.daily.recurring.after_commit` (a no-op hook) with one that writes
``SIGNAL_FILE`` and then waits until the process is killed; everything else is ``billow``.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import functions.daily.recurring as recurring
from infra.cli import main


def pause_after(count: int, signal_file: Path):
    def after_commit(issued: int) -> None:
        if issued == count:
            signal_file.write_text(str(os.getpid()))
            threading.Event().wait()  # until SIGKILL

    return after_commit


if __name__ == "__main__":
    recurring.after_commit = pause_after(int(sys.argv[1]), Path(sys.argv[2]))
    sys.exit(main(sys.argv[3:]))
