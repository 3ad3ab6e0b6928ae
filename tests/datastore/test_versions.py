# SPDX-License-Identifier: AGPL-3.0-or-later
"""Atomic versions: a failed, crashed or cancelled ingest leaves the previous version
served; old versions are pruned."""

from __future__ import annotations

import threading

import pytest

from dulieuso.datastore import query, storage
from dulieuso.datastore.ingest import Cancelled, ingest
from dulieuso.errors import Invalid, NotFound


def served(resource_dir):
    version = storage.require_current(resource_dir)
    return version.number, query.search(version.parquet_path)["records"]


@pytest.fixture
def resource(tmp_path, write):
    directory = tmp_path / "resource"
    first = write("v1.csv", "ma,ten\n1,Lai Châu\n2,Sìn Hồ\n")
    ingest(first, resource_dir=directory, filename="v1.csv")
    return directory


def test_each_ingest_is_a_new_version_and_current_switches(resource, write):
    assert served(resource)[0] == 1
    ingest(write("v2.csv", "ma,ten\n3,Mường Tè\n"), resource_dir=resource, filename="v2.csv")
    number, records = served(resource)
    assert number == 2 and records == [{"_id": 1, "ma": 3, "ten": "Mường Tè"}]


@pytest.mark.parametrize("crash_at", [0.1, 0.3, 0.95])
def test_a_crash_mid_ingest_keeps_the_previous_version_served(resource, write, crash_at):
    before = served(resource)

    def progress(fraction, stage):
        if fraction >= crash_at:
            raise RuntimeError(f"power cut at {stage}")

    with pytest.raises(RuntimeError, match="power cut"):
        ingest(write("v2.csv", "ma,ten\n9,Khác\n"), resource_dir=resource, filename="v2.csv", progress=progress)
    assert served(resource) == before
    assert storage.versions(resource) == [1]
    assert not (resource / storage.TMP_DIR).exists()


def test_a_bad_file_keeps_the_previous_version_served(resource, corpus):
    before = served(resource)
    with pytest.raises(Invalid):
        ingest(corpus / "ragged.csv", resource_dir=resource, filename="ragged.csv")
    assert served(resource) == before


def test_cancelling_keeps_the_previous_version(resource, write):
    before = served(resource)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        ingest(write("v2.csv", "ma\n1\n"), resource_dir=resource, filename="v2.csv", cancel=cancel)
    assert served(resource) == before


def test_leftovers_of_a_killed_ingest_are_cleaned_by_the_next(resource, write):
    stale = resource / storage.TMP_DIR / "dead"
    stale.mkdir(parents=True)
    (stale / "data.parquet").write_bytes(b"half")
    (resource / "v7.parquet").write_bytes(b"half-renamed, no report")
    ingest(write("v2.csv", "ma\n5\n"), resource_dir=resource, filename="v2.csv")
    assert not (resource / storage.TMP_DIR).exists()
    assert not (resource / "v7.parquet").exists()
    assert served(resource)[1] == [{"_id": 1, "ma": 5}]


def test_only_two_versions_are_kept(resource, write):
    for n in range(2, 6):
        ingest(write(f"v{n}.csv", f"ma\n{n}\n"), resource_dir=resource, filename="x.csv")
    assert storage.versions(resource) == [4, 5]
    assert served(resource) == (5, [{"_id": 1, "ma": 5}])


def test_a_damaged_pointer_means_no_data_not_wrong_data(resource):
    (resource / storage.CURRENT).write_text("garbage")
    assert storage.current(resource) is None
    with pytest.raises(NotFound):
        storage.require_current(resource)


def test_a_reader_of_an_old_version_keeps_reading_after_pruning(resource, write):
    old = storage.require_current(resource).parquet_path
    with old.open("rb") as handle:
        for n in range(2, 5):
            ingest(write(f"v{n}.csv", "ma\n1\n"), resource_dir=resource, filename="x.csv")
        assert not old.exists()
        assert handle.read(4) == b"PAR1"


def test_a_long_copy_reports_progress_and_can_be_stopped_midway(tmp_path, write, resource):
    body = "ma,ten,gia\n" + "".join(f"{i},Xã số {i},{i * 3 % 1000}.5\n" for i in range(1_500_000))
    source = write("long.csv", body)
    seen = []

    def record(fraction, stage):
        seen.append((fraction, stage))

    ingest(source, resource_dir=tmp_path / "long", filename="long.csv", progress=record)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    assert seen[-1] == (1.0, "Done")

    before = served(resource)

    def crash_while_writing(fraction, stage):
        # Reports during the COPY come from the watcher thread, every 0.25 s.
        if threading.current_thread().name == "ingest-watch":
            raise RuntimeError("disk pulled out")

    with pytest.raises(RuntimeError, match="disk pulled out"):
        ingest(source, resource_dir=resource, filename="long.csv", progress=crash_while_writing)
    assert served(resource) == before
