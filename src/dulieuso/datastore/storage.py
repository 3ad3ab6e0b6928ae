# SPDX-License-Identifier: AGPL-3.0-or-later
"""Versions of one resource's data on disk, switched atomically.

A resource folder holds::

    current              "3\\n": the version being served (replaced by rename)
    v3.parquet           the data of version 3 (never changed once written)
    v3.json              its validation report, data dictionary and notices
    v2.parquet, v2.json  the previous version, kept for one switch (KEEP_VERSIONS)
    .tmp/                work files of an ingest in progress (removed on failure)
    .lock                held while an ingest writes

Each file is written under a temporary name, fsynced and renamed into place; then
``current`` is switched the same way, and the folder is fsynced. A crash at any point
leaves ``current`` naming a complete version.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dulieuso.errors import NotFound
from dulieuso.i18n import Msg

KEEP_VERSIONS = 2
CURRENT = "current"
TMP_DIR = ".tmp"
_VERSION_FILE = re.compile(r"v(\d+)\.(parquet|json)")


@dataclass(frozen=True)
class Version:
    """One stored version of a resource's data."""

    number: int
    parquet_path: Path
    report_path: Path

    def metadata(self) -> dict[str, Any]:
        """The JSON stored beside the data: report, dictionary, notices, source facts."""
        data: dict[str, Any] = json.loads(self.report_path.read_text(encoding="utf-8"))
        return data


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def versions(resource_dir: Path) -> list[int]:
    """Numbers of the complete versions present (both files there), ascending."""
    if not resource_dir.is_dir():
        return []
    found: dict[int, set[str]] = {}
    for entry in resource_dir.iterdir():
        match = _VERSION_FILE.fullmatch(entry.name)
        if match:
            found.setdefault(int(match[1]), set()).add(match[2])
    return sorted(n for n, kinds in found.items() if kinds == {"parquet", "json"})


def version(resource_dir: Path, number: int) -> Version:
    return Version(
        number, resource_dir / f"v{number}.parquet", resource_dir / f"v{number}.json"
    )


def current(resource_dir: Path) -> Version | None:
    """The version being served, or None when the resource has no data yet."""
    try:
        number = int((resource_dir / CURRENT).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    found = version(resource_dir, number)
    if not (found.parquet_path.exists() and found.report_path.exists()):
        return None
    return found


def require_current(resource_dir: Path) -> Version:
    """Like :func:`current`, but raise ``NotFound`` when there is no data."""
    found = current(resource_dir)
    if found is None:
        raise NotFound(Msg("This resource has no data in the datastore."))
    return found


@contextmanager
def ingest_lock(resource_dir: Path) -> Iterator[Path]:
    """Serialise writers of one resource; yield a fresh work folder, removed afterwards.

    Leftovers of an ingest that was killed (``.tmp`` files) are removed here too.
    """
    resource_dir.mkdir(parents=True, exist_ok=True)
    with (resource_dir / ".lock").open("a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        tmp_root = resource_dir / TMP_DIR
        shutil.rmtree(tmp_root, ignore_errors=True)
        work = tmp_root / uuid.uuid4().hex
        work.mkdir(parents=True)
        try:
            yield work
        finally:
            shutil.rmtree(tmp_root, ignore_errors=True)
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def publish(resource_dir: Path, parquet_tmp: Path, metadata: dict[str, Any]) -> Version:
    """Move a finished Parquet file and its metadata into place as the next version,
    switch ``current`` to it and prune old versions. Call under :func:`ingest_lock`."""
    existing = versions(resource_dir)
    number = (existing[-1] if existing else 0) + 1
    served = current(resource_dir)
    if served is not None:
        number = max(number, served.number + 1)
    target = version(resource_dir, number)
    fsync_file(parquet_tmp)
    os.replace(parquet_tmp, target.parquet_path)
    metadata = {**metadata, "version": number}
    write_atomic(
        target.report_path,
        json.dumps(metadata, ensure_ascii=False, indent=1, default=str).encode("utf-8"),
    )
    fsync_dir(resource_dir)
    write_atomic(resource_dir / CURRENT, f"{number}\n".encode())
    prune(resource_dir)
    return target


def prune(resource_dir: Path, keep: int = KEEP_VERSIONS) -> None:
    """Delete all but the newest ``keep`` versions (never the current one).

    A reader that still has an old file open keeps reading it: unlinking an open file
    on POSIX removes the name, not the data."""
    served = current(resource_dir)
    numbers = versions(resource_dir)
    keep_set = set(numbers[-keep:])
    if served is not None:
        keep_set.add(served.number)
    for number in numbers:
        if number in keep_set:
            continue
        # The version's files and what was derived from it (sorted copies).
        for entry in resource_dir.glob(f"v{number}.*"):
            entry.unlink(missing_ok=True)
    # Work files of a sorted copy or text column whose builder died (hours old).
    stale = time.time() - 3600
    for entry in resource_dir.glob(".v*.tmp"):
        try:
            if entry.stat().st_mtime < stale:
                entry.unlink()
        except FileNotFoundError:
            pass
    # A half-written version (a crash between the two renames) is garbage too.
    for entry in resource_dir.iterdir():
        match = _VERSION_FILE.fullmatch(entry.name)
        if match and int(match[1]) not in keep_set and int(match[1]) not in numbers:
            entry.unlink(missing_ok=True)
