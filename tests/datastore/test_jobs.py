# SPDX-License-Identifier: AGPL-3.0-or-later
"""Ingest jobs off the web workers: progress by id, failures and cancellation."""

from __future__ import annotations

import threading

import pytest

from dulieuso.datastore import jobs, storage


@pytest.fixture
def runner():
    runner = jobs.JobRunner(max_workers=1)
    yield runner
    runner.shutdown()


def test_a_job_reports_progress_and_its_result(runner, corpus, tmp_path):
    seen = []
    job_id = runner.submit_ingest(
        corpus / "tcvn3.csv", resource_dir=tmp_path / "r", filename="tcvn3.csv", on_done=seen.append
    )
    status = runner.wait(job_id, timeout=30)
    assert status.state == jobs.SUCCEEDED and status.percent == 100.0
    assert status.result.rows == 4
    assert seen == [status]
    shown = status.as_dict("vi")
    assert shown["notices"] == ["Đã chuyển mã từ TCVN3 sang Unicode"] and shown["version"] == 1


def test_a_failed_job_carries_the_located_error(runner, corpus, tmp_path):
    status = runner.wait(runner.submit_ingest(corpus / "ragged.csv", resource_dir=tmp_path / "r", filename="r.csv"), 30)
    assert status.state == jobs.FAILED
    assert status.as_dict("en")["error"]["errors"][0]["rowNumber"] == 4


def test_cancelling_a_queued_job_keeps_the_previous_version(runner, corpus, tmp_path, write):
    directory = tmp_path / "r"
    runner.wait(runner.submit_ingest(corpus / "tabs.tsv", resource_dir=directory, filename="t.tsv"), 30)
    gate = threading.Event()
    blocker = runner.submit_ingest(corpus / "vni.csv", resource_dir=tmp_path / "other", filename="v.csv",
                                   on_done=lambda s: gate.wait(5))
    job_id = runner.submit_ingest(corpus / "vni.csv", resource_dir=directory, filename="v.csv")
    assert runner.status(job_id).state == jobs.QUEUED
    assert runner.cancel(job_id) is True
    gate.set()
    runner.wait(blocker, 30)
    status = runner.wait(job_id, 30)
    assert status.state == jobs.CANCELLED
    assert storage.require_current(directory).number == 1
    assert runner.cancel(job_id) is False


def test_unknown_job(runner):
    assert runner.status("nope") is None and runner.cancel("nope") is False


def test_other_slow_work_runs_as_a_task(runner, load):
    from dulieuso.datastore import pii

    parquet = load("semicolon_decimal_comma.csv").parquet_path
    status = runner.wait(runner.submit_task(lambda: pii.scan(parquet), resource_dir=parquet.parent), 30)
    assert status.state == jobs.SUCCEEDED and status.value.verdict == pii.VERDICT_CLEAR

    def broken():
        raise ValueError("no")

    failed = runner.wait(runner.submit_task(broken, resource_dir=parquet.parent), 30)
    assert failed.state == jobs.FAILED and failed.error.code == "task_failed"
