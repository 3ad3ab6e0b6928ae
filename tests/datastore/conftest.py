# SPDX-License-Identifier: AGPL-3.0-or-later
"""Fixtures of the datastore tests: the corpus of awkward files and a loaded resource."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dulieuso.datastore.ingest import IngestResult, ingest

CORPUS = Path(__file__).parents[1] / "data" / "datastore"


@pytest.fixture
def corpus() -> Path:
    return CORPUS


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., IngestResult]:
    """Ingest a corpus file (or any path) into its own resource folder under tmp_path."""

    def _load(name: str | Path, **kwargs: object) -> IngestResult:
        source = Path(name) if isinstance(name, Path) else CORPUS / name
        return ingest(source, resource_dir=tmp_path / "res" / source.stem, filename=source.name, **kwargs)  # type: ignore[arg-type]

    return _load


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    def _write(name: str, data: str | bytes) -> Path:
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    return _write
