# SPDX-License-Identifier: AGPL-3.0-or-later
"""Ingests off the web workers: a small thread pool with progress and cancellation.

Why threads and not processes: the heavy work runs inside DuckDB, which releases the GIL
while it reads, checks and writes, so a web worker thread keeps answering while an
ingest runs; progress and cancellation are plain shared objects; and an interrupted
ingest needs no clean-up beyond what ``ingest`` already guarantees (the previous
version stays served). XLSX parsing (openpyxl) holds the GIL in short slices; Python's
switch interval still lets request handlers run between them.

The open-data portal stores the job id on its Resource row and polls ``status(id)``.
Job states live in memory: after a restart an unfinished job is gone and the resource
still serves its previous version, so the portal can offer to upload again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dulieuso.datastore.ingest import Cancelled, IngestLimits, IngestResult, ingest
from dulieuso.errors import DomainError
from dulieuso.i18n import Msg, N_

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)

STAGE_QUEUED = N_("Waiting for an earlier upload to finish")
STAGE_CANCELLED = N_("Cancelled; the previous version is still served.")
STAGE_FAILED = N_("The upload could not be loaded.")
STAGE_WORKING = N_("Working")
STAGE_DONE = N_("Done")


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job. ``stage`` is a msgid (render it with ``Msg(stage)``)."""

    id: str
    state: str
    percent: float
    stage: str
    resource_dir: Path
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    result: IngestResult | None = None
    error: DomainError | None = None
    value: Any = None  # what a task (``submit_task``) returned

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def as_dict(self, lang: str = "vi") -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "state": self.state,
            "percent": round(self.percent, 1),
            "stage": Msg(self.stage).render(lang),
        }
        if self.result is not None:
            data["version"] = self.result.version
            data["rows"] = self.result.rows
            data["notices"] = [m.render(lang) for m in self.result.notices]
        if self.error is not None:
            data["error"] = self.error.body()["error"]
        return data


@dataclass
class _Job:
    status: JobStatus
    cancel: threading.Event = field(default_factory=threading.Event)
    future: Future[Any] | None = None


class JobRunner:
    """Runs ingests in ``max_workers`` threads; one resource's ingests are serialised by
    the resource's lock (see ``storage.ingest_lock``)."""

    def __init__(self, max_workers: int = 1, keep_finished: int = 1000) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="datastore-ingest")
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._keep = keep_finished

    def submit_ingest(
        self,
        source: Path,
        *,
        resource_dir: Path,
        filename: str,
        format: str | None = None,
        limits: IngestLimits = IngestLimits(),
        on_done: Callable[[JobStatus], None] | None = None,
    ) -> str:
        """Queue an ingest; return its job id at once. ``on_done`` is called (in the
        worker thread) with the final status, e.g. to record the version on the
        resource. ``source`` must stay in place until the job is finished."""
        job_id = uuid.uuid4().hex
        job = _Job(JobStatus(job_id, QUEUED, 0.0, STAGE_QUEUED, Path(resource_dir), time.time()))
        with self._lock:
            self._jobs[job_id] = job
            self._forget_old()

        def progress(fraction: float, stage: str) -> None:
            self._update(job_id, percent=100.0 * fraction, stage=stage)
            if job.cancel.is_set():
                raise Cancelled()

        def run() -> IngestResult:
            self._update(job_id, state=RUNNING, started_at=time.time())
            try:
                if job.cancel.is_set():
                    raise Cancelled()
                result = ingest(
                    Path(source), resource_dir=Path(resource_dir), filename=filename, format=format,
                    progress=progress, limits=limits, cancel=job.cancel,
                )
            except Cancelled:
                final = self._update(job_id, state=CANCELLED, stage=STAGE_CANCELLED, finished_at=time.time())
                if on_done:
                    on_done(final)
                raise
            except DomainError as error:
                final = self._update(job_id, state=FAILED, stage=STAGE_FAILED, error=error, finished_at=time.time())
                if on_done:
                    on_done(final)
                raise
            except Exception as error:
                wrapped = DomainError(Msg("The upload could not be loaded."), code="ingest_failed", extra={"detail": type(error).__name__})
                final = self._update(job_id, state=FAILED, stage=STAGE_FAILED, error=wrapped, finished_at=time.time())
                if on_done:
                    on_done(final)
                raise
            final = self._update(job_id, state=SUCCEEDED, percent=100.0, result=result, finished_at=time.time())
            if on_done:
                on_done(final)
            return result

        job.future = self._pool.submit(run)
        return job_id

    def submit_task(
        self,
        func: Callable[[], Any],
        *,
        resource_dir: Path,
        stage: str = STAGE_WORKING,
        on_done: Callable[[JobStatus], None] | None = None,
    ) -> str:
        """Run other slow datastore work off the web workers, with the same job states:
        the personal-data scan (``lambda: pii.scan(path)``), ``query.prepare_sort`` or
        ``query.prepare_text``. The value returned is in ``JobStatus.value``."""
        job_id = uuid.uuid4().hex
        job = _Job(JobStatus(job_id, QUEUED, 0.0, STAGE_QUEUED, Path(resource_dir), time.time()))
        with self._lock:
            self._jobs[job_id] = job
            self._forget_old()

        def run() -> Any:
            if job.cancel.is_set():
                final = self._update(job_id, state=CANCELLED, stage=STAGE_CANCELLED, finished_at=time.time())
            else:
                self._update(job_id, state=RUNNING, stage=stage, started_at=time.time())
                try:
                    value = func()
                except DomainError as error:
                    final = self._update(job_id, state=FAILED, stage=STAGE_FAILED, error=error, finished_at=time.time())
                except Exception as error:
                    wrapped = DomainError(Msg("The upload could not be loaded."), code="task_failed",
                                          extra={"detail": type(error).__name__})
                    final = self._update(job_id, state=FAILED, stage=STAGE_FAILED, error=wrapped, finished_at=time.time())
                else:
                    final = self._update(job_id, state=SUCCEEDED, stage=STAGE_DONE, percent=100.0, value=value,
                                         finished_at=time.time())
            if on_done:
                on_done(final)
            return final.value

        job.future = self._pool.submit(run)
        return job_id

    def _update(self, job_id: str, **changes: Any) -> JobStatus:
        with self._lock:
            job = self._jobs[job_id]
            job.status = replace(job.status, **changes)
            return job.status

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status.finished]
        for job in sorted(finished, key=lambda j: j.status.created_at)[: max(0, len(finished) - self._keep)]:
            self._jobs.pop(job.status.id, None)

    def status(self, job_id: str) -> JobStatus | None:
        """The job's current status, or None for an unknown (or forgotten) id."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job.status if job else None

    def cancel(self, job_id: str) -> bool:
        """Ask a job to stop (a running DuckDB query is interrupted). True if it was not
        finished yet. The previous version of the resource stays served."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status.finished:
                return False
            job.cancel.set()
            return True

    def wait(self, job_id: str, timeout: float | None = None) -> JobStatus | None:
        """Block until the job finishes (for the CLI and tests)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.future is None:
            return None
        try:
            job.future.result(timeout)
        except Exception:  # the outcome is in the status
            pass
        return self.status(job_id)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            for job in self._jobs.values():
                if not job.status.finished:
                    job.cancel.set()
        self._pool.shutdown(wait=wait, cancel_futures=False)
