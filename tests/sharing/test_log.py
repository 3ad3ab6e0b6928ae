# SPDX-License-Identifier: AGPL-3.0-or-later
"""The sharing log: append-only, hash chain, checkpoints, and ``dulieuso log verify`` catching
every kind of tampering (a DBA with direct access: the tests drop the triggers first)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from dulieuso.db import make_engine
from dulieuso.sharing import log as slog
from tests.conftest import run_async

try:
    from .test_gateway_support import cli, fresh_database
except ImportError:  # tests/sharing is not a package
    from test_gateway_support import cli, fresh_database


@dataclass
class Log:
    url: str
    engine: Engine
    data_dir: Path
    dialect: str

    def sql(self, statement: str, **params: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(statement), params)

    def drop_triggers(self) -> None:
        """What a DBA with direct access can do."""
        if self.dialect == "sqlite":
            self.sql("DROP TRIGGER sharing_log_entries_no_update")
            self.sql("DROP TRIGGER sharing_log_entries_no_delete")
            self.sql("DROP TRIGGER sharing_log_checkpoints_no_update")
            self.sql("DROP TRIGGER sharing_log_checkpoints_no_delete")
        else:
            self.sql("DROP TRIGGER sharing_log_entries_no_change ON sharing_log_entries")
            self.sql("DROP TRIGGER sharing_log_checkpoints_no_change ON sharing_log_checkpoints")

    def row(self, seq: int) -> dict[str, object]:
        with self.engine.connect() as conn:
            return dict(conn.execute(text("SELECT * FROM sharing_log_entries WHERE seq = :s"), {"s": seq})
                        .mappings().one())

    def verify(self, *args: str) -> subprocess.CompletedProcess[str]:
        return cli(self.data_dir, self.url, "verify", *args)


def make_entry(i: int, at: datetime | None = None) -> dict[str, object]:
    at = at or datetime.now(UTC)
    return {
        "request_id": f"req-{i}-{uuid.uuid4().hex[:6]}", "request_at": at, "response_at": at + timedelta(milliseconds=3),
        "latency_us": 3000 + i, "consumer_agency_id": str(uuid.uuid4()), "consumer_agency_code": "SXD",
        "application_id": str(uuid.uuid4()), "account_id": str(uuid.uuid4()), "client_id": "sxd-app",
        "service_id": str(uuid.uuid4()), "service_code": "thua-dat", "service_version": "1.0",
        "provider_agency_id": str(uuid.uuid4()), "operation": "get_parcel", "method": "GET",
        "path": f"/gateway/thua-dat/parcels/LC-{i}", "query": "commune=03385", "status": 200, "outcome": "ok",
        "bytes_in": 0, "bytes_out": 512 + i, "request_sha256": slog.EMPTY_SHA256, "response_sha256": "ab" * 32,
        "purpose": "Thẩm định hồ sơ", "case_id": f"HS-{i}", "end_user": "nguyen.van.a", "agreement_id": None,
        "grant_id": str(uuid.uuid4()), "fields_returned": "area_m2,parcel_id", "client_ip": "127.0.0.1",
    }


def append_batches(log: Log, batches: list[int], at: datetime | None = None) -> None:
    """Write entries in batches of the given sizes, each sealed by one checkpoint."""
    n = 0
    batch_entries = []
    for size in batches:
        batch_entries.append([slog.normalise(make_entry(n + i, at)) for i in range(size)])
        n += size
    append_batches_of(log, batch_entries)


def append_batches_of(log: Log, batches: list[list[dict[str, object]]]) -> None:
    """Write these entries through the writer's batch path, one checkpoint per batch."""
    key = slog.load_signing_key(log.data_dir)
    backend = slog._Backend(log.engine)
    try:
        for entries in batches:
            backend.append(key, entries)
    finally:
        backend.close()


def append_sealed_every(log: Log, sizes: list[int], seal_after: int) -> None:
    """Write batches of the given sizes the way ``LogWriter`` does between seals: a batch
    is committed unsealed, and a signed checkpoint over everything unsealed is added with
    the batch that brings ``seal_after`` entries together, and with the last batch."""
    key = slog.load_signing_key(log.data_dir)
    backend = slog._Backend(log.engine)
    n = pending = 0
    try:
        for index, size in enumerate(sizes):
            pending += size
            seal = pending >= seal_after or index == len(sizes) - 1
            backend.append(key, [slog.normalise(make_entry(n + i)) for i in range(size)], seal=seal)
            n += size
            pending = 0 if seal else pending
    finally:
        backend.close()


@pytest.fixture
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    """A fresh database with 30 entries: by default in three batches (seqs 1–10, 11–20,
    21–30), each sealed; with the parameter ``"sealed"``, in batches of 4 sealed every
    12 entries as the writer does (checkpoints 1–12, 13–24, 25–30)."""
    kind = request.config.getoption("--db")
    with fresh_database(kind, tmp_path) as url:
        engine = make_engine(url)
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        result = Log(url, engine, data_dir, engine.dialect.name)
        if getattr(request, "param", "batch") == "sealed":
            append_sealed_every(result, [4, 4, 4, 4, 4, 4, 4, 2], 12)
        else:
            append_batches(result, [10, 10, 10])
        yield result
        engine.dispose()


#: Run a tampering test on both layouts: a checkpoint per batch, and periodic seals
#: covering several batches (what ``LogWriter`` writes).
both_layouts = pytest.mark.parametrize("log", ["batch", "sealed"], indirect=True)


def checkpoint_ranges(log: Log) -> list[tuple[str, int, int]]:
    with log.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, first_seq, last_seq FROM sharing_log_checkpoints ORDER BY id")).all()
    return [(str(kind), int(first), int(last)) for kind, first, last in rows]


def head_seq(log: Log) -> int:
    with log.engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM sharing_log_entries")).scalar())


def assert_names(result: subprocess.CompletedProcess[str], seq: int, kind: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"first bad entry: #{seq} ({kind})" in result.stdout, result.stdout


class TestAppendOnly:
    def test_update_is_refused_by_the_database(self, log: Log) -> None:
        with pytest.raises(DBAPIError, match="append-only"):
            log.sql("UPDATE sharing_log_entries SET status = 500 WHERE seq = 3")

    def test_delete_is_refused_by_the_database(self, log: Log) -> None:
        with pytest.raises(DBAPIError, match="append-only"):
            log.sql("DELETE FROM sharing_log_entries WHERE seq = 3")

    def test_checkpoints_cannot_be_changed(self, log: Log) -> None:
        with pytest.raises(DBAPIError, match="append-only"):
            log.sql("DELETE FROM sharing_log_checkpoints")

    def test_signing_key_is_private_to_the_owner(self, log: Log) -> None:
        mode = stat.S_IMODE(os.stat(log.data_dir / slog.KEY_FILE).st_mode)
        assert mode == 0o600


class TestCanonicalForm:
    def test_format_2_is_the_tab_joined_text_of_the_fields(self) -> None:
        # Pinned on purpose: a change here is a format change (FORMAT_VERSION, a migration).
        at = datetime(2026, 11, 28, 10, 20, 0, 5, tzinfo=UTC)
        entry = {name: None for name in slog.FIELDS} | {
            "request_id": "r1", "request_at": at, "response_at": at, "latency_us": 7, "method": "GET",
            "path": "/a", "query": "", "status": 200, "outcome": "ok", "bytes_in": 0, "bytes_out": 3,
        }
        expected = "\t".join(["r1", "2026-11-28 10:20:00.000005", "2026-11-28 10:20:00.000005", "7",
                              *[""] * 10, "GET", "/a", "", "200", "ok", "0", "3", *[""] * 9])
        assert slog.canonical(entry) == expected
        assert slog.chain_hash(slog.GENESIS, expected) == hashlib.sha256(
            (slog.GENESIS + "\t" + expected).encode()).hexdigest()

    def test_writer_stores_empty_optional_text_as_null(self) -> None:
        entry = slog.normalise(make_entry(1) | {"purpose": "", "case_id": "", "query": None})
        assert entry["purpose"] is None and entry["case_id"] is None
        assert entry["query"] == ""

    def test_writer_replaces_control_characters(self) -> None:
        entry = slog.normalise(make_entry(1) | {"end_user": "a\tb\nc", "path": "/x\x1fy"})
        assert (entry["end_user"], entry["path"]) == ("a b c", "/x y")

    def test_awkward_values_verify_on_the_database(self, log: Log) -> None:
        # The database's text of each value must be the writer's: backslashes (escaped by
        # PostgreSQL's COPY), text that looks like COPY's NULL, quotes, % signs, Vietnamese.
        awkward = make_entry(31) | {
            "path": "/gateway/x/a\\b\\\\c\\N", "query": "q=100%25&s='x'", "purpose": "\\N",
            "end_user": "Nguyễn Văn Ánh \"ạ\"", "case_id": "%s %d", "fields_returned": "\\",
        }
        append_batches_of(log, [[slog.normalise(awkward)]])
        result = slog.verify(log.engine, log.data_dir)
        assert result.ok, result.problem
        assert result.entries == 31

    @both_layouts
    def test_edit_adding_a_backslash_is_named(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("UPDATE sharing_log_entries SET path = path || '\\' WHERE seq = 9")
        assert_names(log.verify(), 9, "altered")

    @both_layouts
    def test_edit_adding_a_separator_is_named(self, log: Log) -> None:
        # A TAB moved into a value must not pass for the field boundary it imitates.
        row = log.row(4)
        log.drop_triggers()
        log.sql("UPDATE sharing_log_entries SET service_code = :joined, service_version = '' WHERE seq = 4",
                joined=f"{row['service_code']}\t{row['service_version']}")
        assert_names(log.verify(), 4, "altered")

    @both_layouts
    def test_null_made_text_that_looks_like_null_is_named(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("UPDATE sharing_log_entries SET agreement_id = '\\N' WHERE seq = 5")
        assert_names(log.verify(), 5, "altered")


class TestChain:
    def test_entries_link_to_their_predecessor(self, log: Log) -> None:
        first, second = log.row(1), log.row(2)
        assert first["prev_hash"] == slog.GENESIS
        assert second["prev_hash"] == first["entry_hash"]

    def test_each_batch_is_sealed_by_a_signed_checkpoint(self, log: Log) -> None:
        with log.engine.connect() as conn:
            cps = conn.execute(text("SELECT kind, first_seq, last_seq FROM sharing_log_checkpoints ORDER BY id")).all()
        assert [tuple(c) for c in cps] == [("batch", 1, 10), ("batch", 11, 20), ("batch", 21, 30)]

    def test_database_canonical_form_matches_the_writer(self, log: Log) -> None:
        result = slog.verify(log.engine, log.data_dir)
        assert result.ok, result.problem
        assert result.entries == 30

    def test_concurrent_writers_in_two_processes_keep_one_chain(self, log: Log) -> None:
        # Two engines stand for two server processes: the database lock orders them.
        other = make_engine(log.url)
        writers = [slog.LogWriter(log.engine, log.data_dir, synchronous_full=False),
                   slog.LogWriter(other, log.data_dir, synchronous_full=False)]

        def work(writer: slog.LogWriter) -> None:
            futures = [writer.submit(make_entry(i)) for i in range(200)]
            for future in futures:
                future.result(60)

        threads = [threading.Thread(target=work, args=(w,)) for w in writers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for writer in writers:
            writer.stop()
        other.dispose()
        result = slog.verify(log.engine, log.data_dir)
        assert result.ok, result.problem
        assert result.entries == 430


class TestVerifyCommand:
    @both_layouts
    def test_intact_log_exits_0(self, log: Log) -> None:
        result = log.verify()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "30 entries" in result.stdout

    @both_layouts
    def test_edited_field_is_named(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("UPDATE sharing_log_entries SET status = 403 WHERE seq = 12")
        assert_names(log.verify(), 12, "altered")

    @both_layouts
    def test_edited_personal_field_is_named(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("UPDATE sharing_log_entries SET end_user = 'someone.else' WHERE seq = 7")
        assert_names(log.verify(), 7, "altered")

    @both_layouts
    def test_deleted_entry_is_named(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("DELETE FROM sharing_log_entries WHERE seq = 14")
        assert_names(log.verify(), 14, "deleted")

    @both_layouts
    def test_deleted_and_renumbered_entries_are_caught(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("DELETE FROM sharing_log_entries WHERE seq = 14")
        log.sql("UPDATE sharing_log_entries SET seq = seq + 1000 WHERE seq > 14")
        log.sql("UPDATE sharing_log_entries SET seq = seq - 1001 WHERE seq > 1000")
        assert_names(log.verify(), 14, "deleted")

    @both_layouts
    def test_inserted_entry_is_named(self, log: Log) -> None:
        log.drop_triggers()
        # Make room at 12 and insert a well-formed entry that links to entry 11.
        log.sql("UPDATE sharing_log_entries SET seq = seq + 1000 WHERE seq >= 12")
        log.sql("UPDATE sharing_log_entries SET seq = seq - 999 WHERE seq >= 1000")
        fake = slog.normalise(make_entry(99))
        prev = str(log.row(11)["entry_hash"])
        digest = slog.chain_hash(prev, slog.canonical(fake))
        values = {**fake, "seq": 12, "prev_hash": prev, "entry_hash": digest}
        values["request_at"], values["response_at"] = (slog.format_time(fake["request_at"]),
                                                       slog.format_time(fake["response_at"]))
        columns = ", ".join(values)
        log.sql(f"INSERT INTO sharing_log_entries ({columns}) VALUES ({', '.join(':' + c for c in values)})", **values)
        assert_names(log.verify(), 12, "inserted")

    @both_layouts
    def test_entry_appended_without_a_checkpoint_is_named(self, log: Log) -> None:
        fake = slog.normalise(make_entry(99))
        prev = str(log.row(30)["entry_hash"])
        values = {**fake, "seq": 31, "prev_hash": prev, "entry_hash": slog.chain_hash(prev, slog.canonical(fake))}
        values["request_at"], values["response_at"] = (slog.format_time(fake["request_at"]),
                                                       slog.format_time(fake["response_at"]))
        columns = ", ".join(values)
        log.sql(f"INSERT INTO sharing_log_entries ({columns}) VALUES ({', '.join(':' + c for c in values)})", **values)
        assert_names(log.verify(), 31, "unsealed")

    @both_layouts
    def test_reordered_entries_are_named(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("UPDATE sharing_log_entries SET seq = -1 WHERE seq = 15")
        log.sql("UPDATE sharing_log_entries SET seq = 15 WHERE seq = 16")
        log.sql("UPDATE sharing_log_entries SET seq = 16 WHERE seq = -1")
        assert_names(log.verify(), 15, "reordered")

    @both_layouts
    def test_truncated_log_is_named(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("DELETE FROM sharing_log_entries WHERE seq > 26")
        assert_names(log.verify(), 27, "truncated")

    @both_layouts
    def test_rewritten_chain_is_caught_by_the_signed_checkpoint(self, log: Log) -> None:
        # The forger recomputes every hash after the edit, but cannot re-sign the checkpoint.
        log.drop_triggers()
        prev = str(log.row(17)["entry_hash"])
        for seq in range(18, 31):
            row = log.row(seq)
            row["status"] = 500 if seq == 18 else row["status"]
            digest = slog.chain_hash(prev, slog.canonical(row))
            log.sql("UPDATE sharing_log_entries SET status = :st, prev_hash = :p, entry_hash = :h WHERE seq = :s",
                    st=row["status"], p=prev, h=digest, s=seq)
            prev = digest
        result = log.verify()
        assert result.returncode == 1
        assert "checkpoint" in result.stdout

    @both_layouts
    def test_range_verify_checks_only_the_range(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("UPDATE sharing_log_entries SET status = 403 WHERE seq = 25")
        assert log.verify("--from", "#1", "--to", "#20").returncode == 0
        assert_names(log.verify("--from", "#21"), 25, "altered")

    def test_unmigrated_database_is_reported_not_migrated(self, tmp_path: Path) -> None:
        empty = tmp_path / "empty.sqlite3"
        result = cli(tmp_path / "data", f"sqlite:///{empty}", "verify")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "cannot read the sharing log" in result.stderr
        engine = make_engine(f"sqlite:///{empty}")
        with engine.connect() as conn:  # verify only reads: no tables were created
            assert conn.execute(text("SELECT count(*) FROM sqlite_master")).scalar() == 0
        engine.dispose()

    @both_layouts
    def test_altered_checkpoint_is_caught(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("UPDATE sharing_log_checkpoints SET last_seq = 19 WHERE id = 2")
        result = log.verify()
        assert result.returncode == 1
        assert "checkpoint 2" in result.stdout


class TestParallelVerify:
    """Worker processes check chunks cut at checkpoint boundaries (forced here with
    ``workers``: by default only long ranges are split)."""

    @both_layouts
    def test_intact_log_is_checked_in_chunks(self, log: Log) -> None:
        result = slog.verify(log.engine, log.data_dir, workers=2)
        assert result.ok, result.problem
        assert result.entries == 30

    @both_layouts
    def test_edit_in_a_later_chunk_is_named(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("UPDATE sharing_log_entries SET bytes_out = 1 WHERE seq = 25")
        result = slog.verify(log.engine, log.data_dir, workers=2)
        assert (result.ok, result.bad_seq, result.kind) == (False, 25, "altered")
        assert result.entries == 24

    @both_layouts
    def test_deleted_entry_at_a_chunk_boundary_is_named(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("DELETE FROM sharing_log_entries WHERE seq = 20")
        result = slog.verify(log.engine, log.data_dir, workers=2)
        assert (result.ok, result.bad_seq, result.kind) == (False, 20, "deleted")

    @both_layouts
    def test_first_problem_wins_across_chunks(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("UPDATE sharing_log_entries SET status = 500 WHERE seq IN (8, 27)")
        result = slog.verify(log.engine, log.data_dir, workers=3)
        assert (result.bad_seq, result.kind) == (8, "altered")

    @both_layouts
    def test_command_takes_workers(self, log: Log) -> None:
        log.drop_triggers()
        log.sql("UPDATE sharing_log_entries SET client_ip = '10.0.0.1' WHERE seq = 13")
        assert_names(log.verify("--workers", "2"), 13, "altered")


class TestFormatVersion:
    def test_checkpoints_record_format_2(self, log: Log) -> None:
        with log.engine.connect() as conn:
            versions = conn.execute(text("SELECT DISTINCT format_version FROM sharing_log_checkpoints")).scalars()
            assert list(versions) == [slog.FORMAT_VERSION] == [2]

    def test_entries_sealed_in_format_1_are_reported_not_misread(self, log: Log) -> None:
        # What a log written before migration 0012 looks like: validly signed format-1
        # checkpoints (re-signed here with the log's key).
        log.drop_triggers()
        key = slog.load_signing_key(log.data_dir)
        with log.engine.connect() as conn:
            cps = [dict(r) for r in conn.execute(text("SELECT * FROM sharing_log_checkpoints ORDER BY id")).mappings()]
        prev = slog.GENESIS
        for cp in cps:
            cp |= {"format_version": 1, "prev_checkpoint_hash": prev,
                   "created_at": slog.format_time(cp["created_at"]) if isinstance(cp["created_at"], datetime)
                   else cp["created_at"]}
            message = slog.checkpoint_message(cp)
            assert message.startswith(b"dulieuso-sharing-log-v1/checkpoint\n")
            signature = base64.b64encode(key.sign(message)).decode()
            prev = slog.checkpoint_hash(message, signature)
            log.sql("UPDATE sharing_log_checkpoints SET format_version = 1, prev_checkpoint_hash = :p, "
                    "signature = :s, checkpoint_hash = :h WHERE id = :i",
                    p=cp["prev_checkpoint_hash"], s=signature, h=prev, i=cp["id"])
        result = log.verify()
        assert_names(result, 1, "format")
        assert "format 1" in result.stdout


class TestPurge:
    def test_purge_keeps_the_rest_verifiable(self, log: Log) -> None:
        old = datetime.now(UTC) - timedelta(days=4000)
        # A fresh log whose first 10 entries are older than the retention period.
        log.drop_triggers()
        log.sql("DELETE FROM sharing_log_checkpoints")
        log.sql("DELETE FROM sharing_log_entries")
        _restore_triggers(log)
        append_batches(log, [10], at=old)
        append_batches(log, [10, 5])
        deleted = slog.purge(log.engine, log.data_dir, datetime.now(UTC) - timedelta(days=1825))
        assert deleted == 10
        result = log.verify()
        assert result.returncode == 0, result.stdout
        assert "15 entries" in result.stdout

    def test_purge_command_takes_retention_days(self, log: Log) -> None:
        result = cli(log.data_dir, log.url, "purge", "--days", "1825")
        assert result.returncode == 0, result.stderr
        assert "purged 0 entries" in result.stdout
        assert log.verify().returncode == 0

    def test_unanchored_entries_still_cannot_be_deleted(self, log: Log) -> None:
        with pytest.raises(DBAPIError, match="append-only"):
            log.sql("DELETE FROM sharing_log_entries WHERE seq <= 5")


def _restore_triggers(log: Log) -> None:
    """Re-run the trigger part of migration 0005 (after a test emptied the tables)."""
    anchored = "(SELECT coalesce(max(last_seq), 0) FROM sharing_log_checkpoints WHERE kind = 'anchor')"
    if log.dialect == "sqlite":
        log.sql("CREATE TRIGGER sharing_log_entries_no_update BEFORE UPDATE ON sharing_log_entries "
                "BEGIN SELECT RAISE(ABORT, 'sharing_log_entries is append-only'); END")
        log.sql(f"CREATE TRIGGER sharing_log_entries_no_delete BEFORE DELETE ON sharing_log_entries "
                f"WHEN OLD.seq > {anchored} BEGIN SELECT RAISE(ABORT, 'sharing_log_entries is append-only'); END")
    else:
        log.sql("CREATE TRIGGER sharing_log_entries_no_change BEFORE UPDATE OR DELETE ON sharing_log_entries "
                "FOR EACH ROW EXECUTE FUNCTION sharing_log_entries_append_only()")


class TestExport:
    def test_archive_verifies_with_the_public_key(self, log: Log, tmp_path: Path) -> None:
        out = tmp_path / "export.zip"
        result = cli(log.data_dir, log.url, "export", "--from", "#5", "--to", "#25", "--out", str(out))
        assert result.returncode == 0, result.stderr
        pem = (log.data_dir / slog.PUBLIC_KEY_FILE).read_bytes()
        assert slog.verify_archive(out, pem) == []
        manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
        assert (manifest["first_seq"], manifest["last_seq"], manifest["entry_count"]) == (5, 25, 21)

    def test_standalone_script_accepts_and_rejects(self, log: Log, tmp_path: Path) -> None:
        out = tmp_path / "export.zip"
        slog.export(log.engine, log.data_dir, out)
        script = tmp_path / "verify.py"
        script.write_bytes(zipfile.ZipFile(out).read("verify.py"))
        pem = log.data_dir / slog.PUBLIC_KEY_FILE
        ok = subprocess.run([sys.executable, str(script), str(out), "--public-key", str(pem)],
                            capture_output=True, text=True, timeout=60)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        tampered = tmp_path / "tampered.zip"
        _rewrite(out, tampered, "entries.jsonl", lambda data: data.replace(b'"status":200', b'"status":404', 1))
        bad = subprocess.run([sys.executable, str(script), str(tampered), "--public-key", str(pem)],
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 1
        assert "entries.jsonl was modified" in bad.stdout

    def test_modified_archive_with_a_fixed_manifest_fails_the_signature(self, log: Log, tmp_path: Path) -> None:
        out = tmp_path / "export.zip"
        slog.export(log.engine, log.data_dir, out)
        tampered = tmp_path / "tampered.zip"
        _rewrite(out, tampered, "manifest.json", lambda data: data.replace(b'"entry_count": 30', b'"entry_count": 29'))
        problems = slog.verify_archive(tampered, (log.data_dir / slog.PUBLIC_KEY_FILE).read_bytes())
        assert problems and "signature" in problems[0]

    def test_archive_is_rejected_with_another_key(self, log: Log, tmp_path: Path) -> None:
        out = tmp_path / "export.zip"
        slog.export(log.engine, log.data_dir, out)
        other = slog.public_key_pem(slog.load_signing_key(tmp_path / "other").public_key())
        assert slog.verify_archive(out, other) != []

    def test_exports_are_chained_by_digest(self, log: Log, tmp_path: Path) -> None:
        first = slog.export(log.engine, log.data_dir, tmp_path / "a.zip", 1, 10)
        second = slog.export(log.engine, log.data_dir, tmp_path / "b.zip", 11, 30)
        assert first["previous_archive_digest"] is None
        assert second["previous_archive_digest"] == first["archive_digest"]
        assert slog.verify(log.engine, log.data_dir).ok


def _rewrite(source: Path, target: Path, name: str, change: object) -> None:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == name:
                data = change(data)  # type: ignore[operator]
            zout.writestr(item.filename, data)



class TestPeriodicSeal:
    """``LogWriter`` commits every batch before the callers go on, but signs a checkpoint
    only every ``seal_entries`` entries or ``seal_seconds``, and when it stops."""

    def test_writer_seals_every_n_entries(self, log: Log) -> None:
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False, seal_entries=5, seal_seconds=60)
        try:
            for i in range(12):  # one at a time: every entry is a batch of its own
                writer.write(make_entry(i))
            # The first commit seals (a crashed writer may have left a tail); then every 5.
            assert checkpoint_ranges(log)[3:] == [("batch", 31, 31), ("batch", 32, 36), ("batch", 37, 41)]
            assert head_seq(log) == 42  # committed, not sealed yet
        finally:
            writer.stop()
        assert checkpoint_ranges(log)[-1] == ("batch", 42, 42)  # stop seals the rest
        assert writer.batches == 12 and writer.seals == 4
        result = slog.verify(log.engine, log.data_dir)
        assert result.ok, result.problem

    def test_quiet_tail_is_sealed_after_seal_seconds(self, log: Log) -> None:
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False, seal_seconds=0.2)
        try:
            for i in range(3):
                writer.write(make_entry(i))
            assert checkpoint_ranges(log)[-1] == ("batch", 31, 31)
            deadline = time.monotonic() + 10
            while checkpoint_ranges(log)[-1][2] < 33 and time.monotonic() < deadline:
                time.sleep(0.05)
            # Sealed without another call and without stop.
            assert checkpoint_ranges(log)[-1][2] == 33 and writer.seals >= 2
        finally:
            writer.stop()
        assert slog.verify(log.engine, log.data_dir).ok

    def test_verify_waits_for_a_pending_seal(self, log: Log) -> None:
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False, seal_seconds=1.0)
        try:
            for i in range(4):
                writer.write(make_entry(i))
            assert checkpoint_ranges(log)[-1][2] < head_seq(log) == 34  # a tail waits for its seal
            result = slog.verify(log.engine, log.data_dir)
            assert result.ok, result.problem
            assert result.entries == 34
            assert checkpoint_ranges(log)[-1][2] == 34
        finally:
            writer.stop()

    def test_entries_appended_while_verify_waits_are_checked_up_to_the_seal(self, log: Log) -> None:
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False, seal_seconds=0.5)
        try:
            writer.write(make_entry(0))
            writer.write(make_entry(1))  # 32: unsealed
            worker = threading.Thread(target=lambda: [writer.write(make_entry(i)) for i in range(2, 8)])
            worker.start()
            result = slog.verify(log.engine, log.data_dir)
            worker.join()
            assert result.ok, result.problem
        finally:
            writer.stop()
        assert slog.verify(log.engine, log.data_dir).ok

    def test_tail_left_by_a_crashed_writer_is_unsealed_until_the_next_writer_runs(self, log: Log) -> None:
        # What a killed server leaves: committed entries that no checkpoint covers yet.
        key = slog.load_signing_key(log.data_dir)
        backend = slog._Backend(log.engine)
        backend.append(key, [slog.normalise(make_entry(i)) for i in range(3)], seal=False)
        backend.close()
        assert_names(log.verify(), 31, "unsealed")
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False, seal_seconds=60)
        try:
            writer.write(make_entry(3))  # the next server's first commit seals the crash's tail too
            assert checkpoint_ranges(log)[-1] == ("batch", 31, 34)
        finally:
            writer.stop()
        assert log.verify().returncode == 0

    def test_rewriting_the_writers_unsealed_tail_is_caught(self, log: Log) -> None:
        # A DBA rewrites the newest entry (and its hash) before the writer sealed it: the
        # writer chains on from the hash it computed itself, so the seal does not bless it.
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False, seal_seconds=60)
        try:
            writer.write(make_entry(0))  # 31, sealed (first commit)
            writer.write(make_entry(1))  # 32, unsealed
            log.drop_triggers()
            row = log.row(32)
            row["status"] = 500
            log.sql("UPDATE sharing_log_entries SET status = 500, entry_hash = :h WHERE seq = 32",
                    h=slog.chain_hash(str(row["prev_hash"]), slog.canonical(row)))
            writer.write(make_entry(2))  # 33
        finally:
            writer.stop()  # seals 32..33
        assert checkpoint_ranges(log)[-1] == ("batch", 32, 33)
        result = log.verify()
        assert result.returncode == 1, result.stdout
        assert "#32 (" in result.stdout or "#33 (" in result.stdout, result.stdout

    def test_removing_the_writers_unsealed_tail_is_caught(self, log: Log) -> None:
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False, seal_seconds=60)
        try:
            writer.write(make_entry(0))  # 31, sealed (first commit)
            writer.write(make_entry(1))  # 32, unsealed
            writer.write(make_entry(2))  # 33, unsealed
            log.drop_triggers()
            log.sql("DELETE FROM sharing_log_entries WHERE seq = 33")
            assert writer.write(make_entry(3)) == 34  # not 33: the writer goes on from what it wrote
        finally:
            writer.stop()  # seals 32..34
        assert checkpoint_ranges(log)[-1] == ("batch", 32, 34)
        assert_names(log.verify(), 33, "deleted")

    def test_writer_reads_the_head_again_after_another_process_appended(self, log: Log) -> None:
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False, seal_seconds=60)
        other = make_engine(log.url)
        try:
            writer.write(make_entry(0))  # 31
            writer.write(make_entry(1))  # 32, unsealed
            # Another process appends (and seals everything, its own and this writer's).
            append_batches_of(Log(log.url, other, log.data_dir, log.dialect), [[slog.normalise(make_entry(2))]])
            assert writer.write(make_entry(3)) == 34
        finally:
            writer.stop()
            other.dispose()
        assert checkpoint_ranges(log)[3:] == [("batch", 31, 31), ("batch", 32, 33), ("batch", 34, 34)]
        result = slog.verify(log.engine, log.data_dir)
        assert result.ok, result.problem
        assert result.entries == 34

    def test_an_export_between_batches_keeps_the_checkpoint_chain(self, log: Log, tmp_path: Path) -> None:
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False, seal_seconds=60)
        try:
            writer.write(make_entry(0))
            slog.export(log.engine, log.data_dir, tmp_path / "a.zip")  # a checkpoint from another connection
            writer.write(make_entry(1))
            writer.write(make_entry(2))
        finally:
            writer.stop()
        assert [kind for kind, _, _ in checkpoint_ranges(log)][3:] == ["batch", "export", "batch"]
        result = slog.verify(log.engine, log.data_dir)
        assert result.ok, result.problem


class TestHandOff:
    """``await writer.append(entry)``: the entry is cleaned and queued on the event loop,
    and the call resumes once its batch is committed."""

    def test_calls_resume_after_their_entries_are_committed(self, log: Log) -> None:
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False)

        async def calls() -> list[int]:
            seqs = await asyncio.gather(*(writer.append(make_entry(i)) for i in range(64)))
            with log.engine.connect() as conn:  # committed by the time the calls resume
                stored = conn.execute(text("SELECT count(*) FROM sharing_log_entries WHERE seq > 30")).scalar()
            assert stored == 64
            return list(seqs)

        try:
            seqs = run_async(calls())
        finally:
            writer.stop()
        assert sorted(seqs) == list(range(31, 95))

    def test_a_cancelled_call_is_still_logged_and_the_writer_goes_on(self, log: Log) -> None:
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False)
        entry = make_entry(1)

        async def calls() -> int:
            task = asyncio.ensure_future(writer.append(entry))
            await asyncio.sleep(0)  # queued
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return await writer.append(make_entry(2))

        try:
            assert run_async(calls()) == 32
        finally:
            writer.stop()
        with log.engine.connect() as conn:
            rid = conn.execute(text("SELECT request_id FROM sharing_log_entries WHERE seq = 31")).scalar()
        assert rid == entry["request_id"]

    def test_a_failed_batch_fails_every_waiting_call(self, tmp_path: Path) -> None:
        engine = make_engine(f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}")
        writer = slog.LogWriter(engine, tmp_path / "data", synchronous_full=False)

        async def calls() -> list[object]:
            return await asyncio.gather(*(writer.append(make_entry(i)) for i in range(5)), return_exceptions=True)

        try:
            results = run_async(calls())
        finally:
            writer.stop()
            engine.dispose()
        assert all(isinstance(r, Exception) and "sharing_log" in str(r) for r in results), results

    def test_bad_entries_are_refused_on_the_callers_side(self, log: Log) -> None:
        writer = slog.LogWriter(log.engine, log.data_dir, synchronous_full=False)
        try:
            with pytest.raises(ValueError, match="lacks"):
                writer.submit(make_entry(1) | {"outcome": ""})
            with pytest.raises(ValueError, match="datetime"):
                writer.submit(make_entry(1) | {"request_at": "2026-11-28"})
            assert writer.write(make_entry(2)) == 31  # the writer never saw them
        finally:
            writer.stop()


class TestNormalise:
    CONTROL = re.compile(r"[\x00-\x1f\x7f]")

    def test_clean_text_replaces_exactly_the_control_characters(self) -> None:
        samples = ["plain", "Nguyễn Văn Ánh", "tab\there", "nl\nand\rcr", "del\x7f", "nul\x00", "\x1f\x1e",
                   "c1 \x85 \x9f kept", "nbsp\u00a0kept", "line\u2028sep", "emoji 🙂", "", "\\N", "a\tb\u00a0c\x00"]
        samples += ["".join(chr(c) for c in range(0x200))]
        for value in samples:
            assert slog.clean_text(value) == self.CONTROL.sub(" ", value), repr(value)
        assert slog.clean_text("x" * 5000) == "x" * 4000
        assert slog.clean_text("\t" * 5000, 10) == " " * 10

    def test_values_are_typed_and_cleaned_like_before(self) -> None:
        naive = datetime(2026, 11, 28, 10, 0, 0)
        hanoi = datetime(2026, 11, 28, 17, 0, 0, tzinfo=timezone(timedelta(hours=7)))
        grant = uuid.uuid4()
        entry = slog.normalise(make_entry(1) | {
            "request_at": naive, "response_at": hanoi, "status": "201", "latency_us": None, "bytes_in": None,
            "grant_id": grant, "request_sha256": None, "operation": "\x00", "client_ip": "",
        })
        assert entry["request_at"] == naive.replace(tzinfo=UTC) and entry["request_at"].tzinfo is UTC
        assert entry["response_at"] == hanoi and entry["response_at"].utcoffset() == timedelta(0)
        assert (entry["status"], entry["latency_us"], entry["bytes_in"]) == (201, 0, 0)
        assert entry["grant_id"] == str(grant)
        assert entry["request_sha256"] == slog.EMPTY_SHA256
        assert (entry["operation"], entry["client_ip"]) == (" ", None)
        assert set(entry) == set(slog.FIELDS)
