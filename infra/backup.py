"""``billow backup``, ``billow verify-backup``, ``billow restore``: the embedded store, whole.

A backup is a folder:

```
billow.db        a consistent snapshot of the database (SQLite's online backup API: one read
                 transaction, so writers carry on meanwhile and the copy is one point in time)
blobs/...        every file of the blob folder (PDFs, logos; ``.meta`` content types)
secret.key       the key that signs blob links (so links stay valid after a restore)
link.key         the key hosted-page links are derived from (customers' links keep working)
manifest.json    format, time, SQLite version, and the size and SHA-256 of every file above
```

Order matters: the database is copied first, then the blobs. Blobs are written before the
commit that names them and never removed, so every blob the snapshot refers to is already in
the folder when it is copied. The backup is written to ``DIR.partial`` and renamed when
complete, so a ``DIR`` that exists is a finished backup.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

FORMAT = "billow-backup"
VERSION = 1
DB_NAME = "billow.db"
SECRET_NAME = "secret.key"  # noqa: S105 - a file name
#: Key files kept beside the database and copied with it: hosted-page links are derived from
#: ``link.key``, so a restore without it would break every link the customers hold.
KEY_FILES = (SECRET_NAME, "link.key")
MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup that cannot be made, verified or restored (the message says why)."""


def sqlite_path(store_url: str) -> Path:
    import urllib.parse

    parsed = urllib.parse.urlparse(store_url)
    if parsed.scheme not in ("", "file", "sqlite"):
        raise BackupError(
            "billow backup copies the embedded store (SQLite and its blob folder); for DynamoDB "
            "use point-in-time recovery, or `billow export` per account"
        )
    return Path(urllib.parse.unquote(parsed.path) if parsed.scheme else store_url)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _quiet(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: ``None`` shows a bar only on a terminal."""
    return True if progress is False else None


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(".tmp"):
            yield path


def backup(db_path: Path, target: Path, *, progress: bool | None = None) -> dict[str, Any]:
    """Back up the store whose database is ``db_path`` into the new folder ``target``."""
    if not db_path.is_file():
        raise BackupError(f"no database at {db_path}")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} exists and is not empty: choose a new folder")
    partial = target.with_name(target.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    os.chmod(partial, 0o700)  # it holds the link-signing key and everyone's invoices
    started = datetime.now(UTC)

    # 1. the database, as one snapshot
    source = sqlite3.connect(db_path, timeout=60)
    dest = sqlite3.connect(partial / DB_NAME)
    try:
        source.execute("PRAGMA busy_timeout=60000")
        source.backup(dest)  # pages=-1: one step, one read transaction
        dest.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        check = dest.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dest.close()
        source.close()
    if check != "ok":
        raise BackupError(f"the database copy failed its integrity check: {check}")

    # 2. the blobs (after the database: everything the snapshot names exists by now)
    blob_dir = db_path.parent / "blobs"
    entries: list[dict[str, Any]] = []
    sources = list(_files(blob_dir)) if blob_dir.is_dir() else []
    for path in tqdm(sources, desc="blobs", unit="file", disable=_quiet(progress)):
        rel = Path("blobs") / path.relative_to(blob_dir)
        out = partial / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out)
    for name in KEY_FILES:  # the keys beside the database: blob links, hosted links
        secret = db_path.parent / name
        if secret.is_file():
            shutil.copy2(secret, partial / name)
            os.chmod(partial / name, 0o600)

    # 3. the manifest, over what was written
    for path in _files(partial):
        rel = path.relative_to(partial).as_posix()
        entries.append({"path": rel, "size": path.stat().st_size, "sha256": _sha256(path)})
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": str(db_path.parent),
        "sqlite_version": sqlite3.sqlite_version,
        "files": entries,
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync_tree(partial)
    if target.exists():
        _move_into(partial, target)
    else:
        partial.rename(target)
    return manifest


def _move_into(partial: Path, target: Path) -> None:
    for child in partial.iterdir():
        child.rename(target / child.name)
    partial.rmdir()


def _fsync_tree(root: Path) -> None:
    for path in _files(root):
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())


def verify(folder: Path) -> dict[str, Any]:
    """Check a backup folder against its manifest; raises :class:`BackupError` if anything
    is missing, changed, or the database fails SQLite's integrity check."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{folder} has no {MANIFEST}: not a finished Billow backup")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError(f"{folder}: unknown backup format {manifest.get('format')!r}")
    problems: list[str] = []
    listed = set()
    for entry in tqdm(manifest["files"], desc="verify", unit="file", disable=None):
        listed.add(entry["path"])
        path = folder / entry["path"]
        if not path.is_file():
            problems.append(f"missing: {entry['path']}")
        elif path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            problems.append(f"changed: {entry['path']}")
    if DB_NAME not in listed:
        problems.append(f"the manifest lists no {DB_NAME}")
    elif (folder / DB_NAME).is_file():
        conn = sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
        if check != "ok":
            problems.append(f"{DB_NAME}: integrity check says {check}")
    if problems:
        raise BackupError("the backup is damaged:\n  " + "\n  ".join(problems))
    return {"files": len(manifest["files"]), "created_at": manifest["created_at"]}


def restore(folder: Path, data_dir: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore a verified backup into ``data_dir``. A non-empty ``data_dir`` is refused unless
    ``force``; then its content is moved aside (``<data_dir>.before-restore-<time>``), never
    deleted."""
    info = verify(folder)
    moved: Path | None = None
    if data_dir.exists() and any(data_dir.iterdir()):
        if not force:
            raise BackupError(
                f"{data_dir} is not empty: restore into a new folder, or pass --force to move "
                "its content aside first (stop the server that uses it before)"
            )
        moved = data_dir.with_name(f"{data_dir.name}.before-restore-{int(time.time())}")
        data_dir.rename(moved)
    data_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((folder / MANIFEST).read_text())
    for entry in tqdm(manifest["files"], desc="restore", unit="file", disable=None):
        out = data_dir / entry["path"]
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / entry["path"], out)
    for name in KEY_FILES:
        if (data_dir / name).exists():
            os.chmod(data_dir / name, 0o600)
    _fsync_tree(data_dir)
    return {**info, "data_dir": str(data_dir), "moved_aside": str(moved) if moved else None}
