# SPDX-License-Identifier: AGPL-3.0-or-later
"""Resources: uploads and links, ingestion into the datastore off the web workers, the
data dictionary, the personal-data scan and its override, downloads and their counts.

Files live under the storage dir (``Settings.storage_dir``)::

    opendata/uploads/<resource id>/<sha256[:16]>-<file name>   the uploaded original
    opendata/pii/<resource id>/v<N>.json                       the scan of data version N
    datastore/<resource id>/                                   Parquet versions (datastore.storage)

Ingestion runs in the datastore's ``JobRunner`` (threads); the request that uploads
returns at once with the job id. The job itself writes only files (the new data version
and its personal-data scan); the resource row learns the outcome the next time anyone
looks at it (:func:`refresh`), so a job never needs a database connection of its own.
A failed or cancelled ingest leaves the previous version served.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import os
import re
import shutil
import threading
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import SYSTEM, Actor, can, require
from dulieuso.config import Settings
from dulieuso.datastore import export, jobs, pii, storage
from dulieuso.datastore.ingest import IngestLimits, detect_format, ingest_error_report
from dulieuso.errors import Conflict, DomainError, Invalid, NotFound, PayloadTooLarge
from dulieuso.i18n import N_, Msg
from dulieuso.opendata import service
from dulieuso.opendata.events import OpenDataEvent
from dulieuso.opendata.models import (
    Dataset,
    DownloadCount,
    IngestStatus,
    PiiStatus,
    Resource,
    UrlType,
)
from dulieuso.opendata.permissions import OpenDataAction

log = logging.getLogger("dulieuso.opendata")

#: Default cap of one upload, when ``Settings`` has no ``opendata_max_upload_bytes``.
MAX_UPLOAD_BYTES = 500 * 1024 * 1024
MIN_OVERRIDE_REASON = 20
CHUNK = 1 << 20
DOWNLOAD_FORMATS = ("csv", "tsv", "json", "xlsx", "parquet")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def max_upload_bytes(settings: Settings) -> int:
    return int(getattr(settings, "opendata_max_upload_bytes", MAX_UPLOAD_BYTES))


def datastore_dir(settings: Settings, resource_id: uuid.UUID) -> Path:
    return settings.storage_dir / "datastore" / str(resource_id)


def _pii_file(settings: Settings, resource_id: uuid.UUID, version: int) -> Path:
    return settings.storage_dir / "opendata" / "pii" / str(resource_id) / f"v{version}.json"


# ----------------------------------------------------------------------- the job runner

_RUNNER: jobs.JobRunner | None = None
_RUNNER_LOCK = threading.Lock()


def stop_runner() -> None:
    """Stop the process's ingest runner (server shutdown); a later ingest starts a new one."""
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is not None:
            _RUNNER.shutdown(wait=False)
            _RUNNER = None


def runner() -> jobs.JobRunner:
    """The process's ingest runner (created on first use; one worker thread per CPU pair)."""
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is None:
            _RUNNER = jobs.JobRunner(max_workers=max(1, (os.cpu_count() or 2) // 2))
        return _RUNNER


# ----------------------------------------------------------------------- reading


def get_resource(session: Session, actor: Actor, resource_id: str | uuid.UUID) -> Resource:
    """A resource of a dataset ``actor`` may see; else ``NotFound``."""
    ident = service._parse_uuid(resource_id)
    resource = session.get(Resource, ident) if ident else None
    if resource is None or not service.can_see(actor, resource.dataset):
        raise NotFound(Msg("Resource not found."), code="resource_not_found")
    return resource


def _editable(session: Session, actor: Actor, resource_id: str | uuid.UUID, action: OpenDataAction = OpenDataAction.EDIT) -> Resource:
    resource = get_resource(session, actor, resource_id)
    require(actor, action, resource.dataset.agency_id)
    return resource


def current_data(settings: Settings, resource: Resource) -> storage.Version | None:
    """The datastore version being served for ``resource`` (None: no data)."""
    if not resource.datastore_active:
        return None
    return storage.current(datastore_dir(settings, resource.id))


def metadata(settings: Settings, resource: Resource) -> dict[str, Any]:
    """The stored facts of the served version: report, dictionary, notices."""
    version = current_data(settings, resource)
    return version.metadata() if version else {}


def dictionary(settings: Settings, resource: Resource) -> list[dict[str, Any]]:
    """The data dictionary: inferred fields with the agency's labels and descriptions."""
    edits = resource.dictionary or {}
    fields = []
    for entry in metadata(settings, resource).get("dictionary", []):
        edit = edits.get(entry["id"], {})
        fields.append({**entry, "label": edit.get("label") or entry.get("label") or entry["id"],
                       "description": edit.get("description", entry.get("description", ""))})
    return fields


# ----------------------------------------------------------------------- create / update


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its name as the uploader gave it and a readable binary stream."""

    filename: str
    stream: IO[bytes]


def _safe_filename(name: str) -> str:
    name = unicodedata.normalize("NFKD", Path(name or "data").name)
    name = "".join(ch for ch in name if not unicodedata.combining(ch)).replace("đ", "d").replace("Đ", "D")
    return _SAFE_NAME.sub("-", name).strip("-.")[:120] or "data"


def _store_upload(settings: Settings, resource_id: uuid.UUID, upload: Upload) -> tuple[Path, int, str]:
    """Copy the upload under the storage dir, bounded in size; return (path, size, sha256)."""
    limit = max_upload_bytes(settings)
    folder = settings.storage_dir / "opendata" / "uploads" / str(resource_id)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".upload-{uuid.uuid4().hex}.tmp"
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("wb") as out:
            while True:
                chunk = upload.stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        Msg("The file is larger than the limit of {limit} MB.", limit=limit // (1024 * 1024)),
                        code="upload_too_large",
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid(Msg("The file is empty."), fields={"upload": [Msg("The file is empty.")]})
        final = folder / f"{digest.hexdigest()[:16]}-{_safe_filename(upload.filename)}"
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final, size, digest.hexdigest()


def _format_of(filename: str, path: Path, declared: str | None) -> tuple[str, bool]:
    """(format, tabular?) of an upload: the datastore's detection for tabular files, else
    the extension (PDF, DOCX, ZIP… are kept as files, not loaded)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    try:
        return detect_format(filename, head, declared.lower() if declared else None), True
    except DomainError:
        ext = Path(filename).suffix.lower().lstrip(".")
        return (declared or ext or "bin").lower()[:40], False


def _clean_meta(data: Mapping[str, Any], resource: Resource | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: dict[str, list[Msg]] = {}
    if "name" in data or resource is None:
        name = str(data.get("name") or "").strip()[:300]
        if not name and resource is None and not data.get("_filename"):
            errors["name"] = [Msg("This field is required.")]
        out["name"] = name or str(data.get("_filename") or "")[:300]
    if "description" in data:
        out["description"] = str(data.get("description") or "").strip()[:20_000]
    if "url" in data and data.get("url"):
        url = str(data["url"]).strip()
        if not url.startswith(("http://", "https://")):
            errors["url"] = [Msg("Enter a web address starting with http:// or https://.")]
        out["url"] = url[:1000]
    if "format" in data and data.get("format"):
        out["format"] = str(data["format"]).strip().lower()[:40]
    if errors:
        raise Invalid(fields=errors)
    return out


def add_resource(
    session: Session,
    actor: Actor,
    dataset_ref: str | uuid.UUID,
    data: Mapping[str, Any],
    *,
    settings: Settings,
    upload: Upload | None = None,
    wait: bool = False,
) -> Resource:
    """Add a resource: an ``upload`` (stored, checksummed, loaded into the datastore when
    tabular) or a link (``data["url"]``). ``data``: ``name``, ``description``, ``format``,
    ``url``. With ``wait`` the ingest finishes before returning (CLI, demo, tests)."""
    dataset = service._editable(session, actor, dataset_ref)
    if upload is None and not data.get("url"):
        raise Invalid(fields={"upload": [Msg("Choose a file to upload or give a link.")]})
    meta = _clean_meta({**data, "_filename": upload.filename if upload else (data.get("url") or "")}, None)
    position = max((r.position for r in dataset.resources), default=-1) + 1
    resource = Resource(
        id=uuid.uuid4(), dataset_id=dataset.id, position=position,
        url_type=UrlType.UPLOAD if upload else UrlType.LINK, name=meta.get("name") or "", description=meta.get("description", ""),
        url=meta.get("url", "") if upload is None else "", format=meta.get("format", ""),
    )
    if upload is None:
        resource.format = resource.format or Path(resource.url.split("?")[0]).suffix.lstrip(".").lower()[:40]
        resource.mimetype = mimetypes.guess_type(resource.url.split("?")[0])[0] or ""
    session.add(resource)
    dataset.resources.append(resource)
    session.flush()
    job = _attach_file(session, resource, upload, settings, declared=meta.get("format")) if upload else None
    service.touch(dataset)
    service.reindex(session, dataset)
    service._revise(session, actor, dataset, "resource_create")
    record(session, actor, OpenDataEvent.RESOURCE_CREATE, resource, after=snapshot(resource), label=resource.name, covers=[dataset])
    if job and wait:
        finish_now(session, resource, settings)
    return resource


def _attach_file(session: Session, resource: Resource, upload: Upload, settings: Settings, *, declared: str | None) -> str | None:
    """Store the upload on ``resource`` and queue its ingest; return the job id."""
    path, size, sha = _store_upload(settings, resource.id, upload)
    fmt, tabular = _format_of(upload.filename, path, declared)
    old = resource.storage_path
    resource.filename = Path(upload.filename).name[:300]
    resource.storage_path = str(path.relative_to(settings.storage_dir))
    resource.size = size
    resource.hash = f"sha256:{sha}"
    resource.format = fmt
    resource.mimetype = export.MEDIA_TYPES.get(fmt) or mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
    resource.last_modified = datetime.now(UTC)
    if not resource.name:
        resource.name = resource.filename
    if old and old != resource.storage_path:
        # The previous original goes once the new one is stored (the served data version
        # is separate and stays until the new ingest succeeds).
        (settings.storage_dir / old).unlink(missing_ok=True)
    if not tabular:
        resource.ingest_status = IngestStatus.NONE
        return None
    job_id = runner().submit_ingest(
        path, resource_dir=datastore_dir(settings, resource.id), filename=upload.filename, format=fmt,
        limits=IngestLimits(max_bytes=max_upload_bytes(settings)),
        on_done=_scan_after_ingest(settings, resource.id),
    )
    resource.ingest_job_id = job_id
    resource.ingest_status = IngestStatus.QUEUED
    resource.ingest_progress = 0.0
    resource.ingest_stage = jobs.STAGE_QUEUED
    return job_id


def _scan_after_ingest(settings: Settings, resource_id: uuid.UUID) -> Any:
    """The job's ``on_done``: scan the new version for personal data (in the worker)."""

    def done(status: jobs.JobStatus) -> None:
        if status.result is None:
            return
        try:
            report = pii.scan(status.result.parquet_path).as_dict()
        except Exception:  # the gate then says "not scanned"; never lose the ingest
            log.exception("personal-data scan failed", extra={"resource_id": str(resource_id)})
            return
        target = _pii_file(settings, resource_id, status.result.version)
        target.parent.mkdir(parents=True, exist_ok=True)
        storage.write_atomic(target, json.dumps(report, ensure_ascii=False).encode("utf-8"))

    return done


def update_resource(
    session: Session,
    actor: Actor,
    resource_id: str | uuid.UUID,
    data: Mapping[str, Any],
    *,
    settings: Settings,
    upload: Upload | None = None,
    wait: bool = False,
) -> Resource:
    """Change a resource's metadata and/or replace its file (re-ingested; the previous
    data stays served until the new version is complete)."""
    resource = _editable(session, actor, resource_id)
    if resource.ingest_status in (IngestStatus.QUEUED, IngestStatus.RUNNING) and upload is not None:
        raise Conflict(Msg("An upload of this resource is still being loaded; wait for it to finish."), code="ingest_running")
    before = snapshot(resource)
    meta = _clean_meta(data, resource)
    for key, value in meta.items():
        if key == "url" and resource.url_type is UrlType.UPLOAD:
            continue
        if key == "name" and not value:
            continue
        setattr(resource, key, value)
    job = None
    if upload is not None:
        resource.url_type = UrlType.UPLOAD
        resource.url = ""
        job = _attach_file(session, resource, upload, settings, declared=meta.get("format"))
    resource.last_modified = datetime.now(UTC)
    dataset = resource.dataset
    service.touch(dataset)
    service.reindex(session, dataset)
    service._revise(session, actor, dataset, "resource_update")
    record(session, actor, OpenDataEvent.RESOURCE_UPDATE, resource, before=before, after=snapshot(resource), label=resource.name, covers=[dataset])
    if job and wait:
        finish_now(session, resource, settings)
    return resource


def delete_resource(session: Session, actor: Actor, resource_id: str | uuid.UUID, *, settings: Settings) -> None:
    resource = _editable(session, actor, resource_id)
    dataset = resource.dataset
    if resource.ingest_job_id:
        runner().cancel(resource.ingest_job_id)
    record(session, actor, OpenDataEvent.RESOURCE_DELETE, resource, before=snapshot(resource), label=resource.name, covers=[dataset])
    dataset.resources.remove(resource)
    session.delete(resource)
    session.flush()
    service.touch(dataset)
    service.reindex(session, dataset)
    service._revise(session, actor, dataset, "resource_delete")
    for folder in (datastore_dir(settings, resource.id), settings.storage_dir / "opendata" / "uploads" / str(resource.id),
                   settings.storage_dir / "opendata" / "pii" / str(resource.id)):
        shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------- ingest outcome


def finish_now(session: Session, resource: Resource, settings: Settings, timeout: float | None = 600) -> Resource:
    """Wait for the resource's ingest and record its outcome (CLI, demo, tests)."""
    if resource.ingest_job_id:
        runner().wait(resource.ingest_job_id, timeout)
    return refresh(session, resource, settings)


def refresh(session: Session, resource: Resource, settings: Settings) -> Resource:
    """Bring the resource row up to date with its ingest job: progress while it runs; the
    new datastore version and its personal-data scan when it succeeded; the error report
    (previous version still served) when it failed. Callers commit."""
    if resource.ingest_status not in (IngestStatus.QUEUED, IngestStatus.RUNNING):
        return resource
    status = runner().status(resource.ingest_job_id) if resource.ingest_job_id else None
    if status is None:
        # The server restarted while the job ran (jobs live in memory): nothing new is served.
        resource.ingest_status = IngestStatus.LOST
        resource.ingest_stage = N_("The upload was interrupted; upload the file again.")
        return resource
    if not status.finished:
        resource.ingest_status = IngestStatus.RUNNING if status.state == jobs.RUNNING else IngestStatus.QUEUED
        resource.ingest_progress = status.percent
        resource.ingest_stage = status.stage
        return resource
    before = snapshot(resource)
    resource.ingest_progress = status.percent
    resource.ingest_stage = status.stage
    dataset = resource.dataset
    details: dict[str, Any] = {"job_id": status.id, "state": status.state}
    if status.state == jobs.SUCCEEDED and status.result is not None:
        result = status.result
        resource.ingest_status = IngestStatus.SUCCEEDED
        resource.datastore_active = True
        resource.datastore_version = result.version
        resource.datastore_rows = result.rows
        resource.ingest_error = None
        resource.last_modified = datetime.now(UTC)
        _apply_scan(resource, settings, result.version, result.parquet_path)
        details.update({"version": result.version, "rows": result.rows, "pii": resource.pii_status.value})
    else:
        resource.ingest_status = IngestStatus.CANCELLED if status.state == jobs.CANCELLED else IngestStatus.FAILED
        error = status.error or DomainError(Msg("The upload could not be loaded."), code="ingest_failed")
        report = ingest_error_report(error)
        report["message"] = error.message.vi
        report["message_en"] = error.message.en
        if error.extra.get("detail"):
            report["detail"] = error.extra["detail"]
        resource.ingest_error = report
        details.update({"error": error.message.en, "kept_version": resource.datastore_version})
    service.touch(dataset)
    service.reindex(session, dataset)
    record(session, SYSTEM, OpenDataEvent.RESOURCE_INGEST, resource, before=before, after=snapshot(resource),
           label=resource.name, details=details, covers=[dataset])
    if service.is_public(dataset) and not service.pii_cleared(resource):
        service.hide_for_personal_data(session, dataset)
    return resource


def _apply_scan(resource: Resource, settings: Settings, version: int, parquet_path: Path) -> None:
    target = _pii_file(settings, resource.id, version)
    try:
        report = json.loads(target.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        report = pii.scan(parquet_path).as_dict()  # the job could not; do it now
    resource.pii_report = report
    resource.pii_version = version
    resource.pii_status = PiiStatus(report.get("verdict", "not_scanned"))


def refresh_all(session: Session, dataset: Dataset, settings: Settings) -> None:
    for resource in dataset.resources:
        refresh(session, resource, settings)


def ingest_status(session: Session, actor: Actor, resource_id: str | uuid.UUID, *, settings: Settings, lang: str = "vi") -> dict[str, Any]:
    """What the resource page polls: state, percent, stage text, and the outcome."""
    resource = get_resource(session, actor, resource_id)
    refresh(session, resource, settings)
    data: dict[str, Any] = {
        "resource_id": str(resource.id),
        "state": resource.ingest_status.value,
        "percent": round(resource.ingest_progress or 0.0, 1),
        "stage": Msg(resource.ingest_stage).render(lang) if resource.ingest_stage else "",
        "finished": resource.ingest_status not in (IngestStatus.QUEUED, IngestStatus.RUNNING),
        "datastore_active": resource.datastore_active,
        "version": resource.datastore_version,
        "rows": resource.datastore_rows,
    }
    if resource.ingest_error:
        data["error"] = {
            "message": resource.ingest_error.get("message" if lang == "vi" else "message_en"),
            "errors": resource.ingest_error.get("errors", [])[:20],
        }
    return data


def cancel_ingest(session: Session, actor: Actor, resource_id: str | uuid.UUID) -> bool:
    resource = _editable(session, actor, resource_id)
    return bool(resource.ingest_job_id) and runner().cancel(resource.ingest_job_id)


# ----------------------------------------------------------------------- dictionary, PII


def edit_dictionary(session: Session, actor: Actor, resource_id: str | uuid.UUID, fields: Mapping[str, Mapping[str, Any]], *, settings: Settings) -> Resource:
    """Set labels and descriptions of fields: ``{field_id: {"label", "description"}}``."""
    resource = _editable(session, actor, resource_id)
    known = {f["id"] for f in metadata(settings, resource).get("dictionary", [])}
    unknown = [name for name in fields if name not in known]
    if unknown:
        raise Invalid(fields={"fields": [Msg("Unknown field {name}.", name=n) for n in unknown]})
    before = dict(resource.dictionary or {})
    edits = dict(before)
    for name, info in fields.items():
        label = str(info.get("label") or "").strip()[:300]
        description = str(info.get("description") or "").strip()[:5000]
        edits[name] = {"label": label, "description": description}
    if edits == before:
        return resource
    resource.dictionary = edits
    dataset = resource.dataset
    service.touch(dataset)
    service.reindex(session, dataset)
    record(session, actor, OpenDataEvent.RESOURCE_DICTIONARY, resource, before={"dictionary": before},
           after={"dictionary": edits}, label=resource.name, covers=[dataset])
    return resource


def pii_report(session: Session, actor: Actor, resource_id: str | uuid.UUID) -> dict[str, Any]:
    """The personal-data scan of the served version and any override (agency staff)."""
    resource = get_resource(session, actor, resource_id)
    require(actor, OpenDataAction.VIEW_PRIVATE, resource.dataset.agency_id)
    return {
        "resource_id": str(resource.id),
        "status": resource.pii_status.value,
        "version": resource.pii_version,
        "datastore_version": resource.datastore_version,
        "report": resource.pii_report,
        "cleared": service.pii_cleared(resource),
        "override": {
            "reason": resource.pii_override_reason,
            "by": resource.pii_override_by,
            "at": resource.pii_override_at.isoformat() if resource.pii_override_at else None,
            "version": resource.pii_override_version,
        } if resource.pii_override_reason else None,
    }


def override_pii(session: Session, actor: Actor, resource_id: str | uuid.UUID, reason: str) -> Resource:
    """An approver (of the dataset's agency, or the platform administrator) accepts the
    personal-data findings of the current data version with a written reason. The
    override covers this version only: new data is scanned and gated again."""
    resource = get_resource(session, actor, resource_id)
    require(actor, OpenDataAction.PII_OVERRIDE, resource.dataset.agency_id)
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_OVERRIDE_REASON:
        raise Invalid(fields={"reason": [Msg("Explain the decision in at least {n} characters.", n=MIN_OVERRIDE_REASON)]})
    if resource.datastore_version is None or resource.pii_version != resource.datastore_version:
        raise Conflict(Msg("This resource has no scanned data to override."), code="nothing_to_override")
    if resource.pii_status is not PiiStatus.PERSONAL_DATA:
        raise Conflict(Msg("The scan found no personal data; no override is needed."), code="nothing_to_override")
    before = snapshot(resource)
    resource.pii_override_reason = reason[:5000]
    resource.pii_override_by = actor.label
    resource.pii_override_at = datetime.now(UTC)
    resource.pii_override_version = resource.datastore_version
    record(
        session, actor, OpenDataEvent.PII_OVERRIDE, resource, before=before, after=snapshot(resource), label=resource.name,
        details={"reason": reason, "version": resource.datastore_version,
                 "findings": [f.get("kind") for f in (resource.pii_report or {}).get("findings", [])]},
        covers=[resource.dataset],
    )
    return resource


# ----------------------------------------------------------------------- downloads


def _served(session: Session, actor: Actor, resource_id: str | uuid.UUID, settings: Settings) -> tuple[Resource, storage.Version]:
    resource = get_resource(session, actor, resource_id)
    version = current_data(settings, resource)
    if version is None:
        raise NotFound(Msg("This resource has no data in the datastore."), code="no_datastore_data")
    return resource, version


def download(
    session: Session, actor: Actor, resource_id: str | uuid.UUID, fmt: str, *, settings: Settings, bom: bool = False
) -> tuple[Iterator[bytes], str, str, Resource]:
    """A resource's data as ``csv``, ``tsv``, ``json``, ``xlsx`` or ``parquet`` (formulas
    neutralised), or ``original`` (the uploaded file). Returns (chunks, media type,
    file name, resource). Callers count the download (:func:`count`)."""
    fmt = (fmt or "csv").lower()
    resource = get_resource(session, actor, resource_id)
    base = _safe_filename(Path(resource.filename or resource.name).stem or str(resource.id))
    if fmt == "original":
        if resource.url_type is not UrlType.UPLOAD or not resource.storage_path:
            raise NotFound(Msg("This resource has no uploaded file."), code="no_file")
        path = settings.storage_dir / resource.storage_path
        if not path.exists():
            raise NotFound(Msg("This resource has no uploaded file."), code="no_file")
        return _file_chunks(path), resource.mimetype or "application/octet-stream", Path(resource.storage_path).name.split("-", 1)[-1], resource
    if fmt not in DOWNLOAD_FORMATS:
        raise Invalid(fields={"format": [Msg("Unknown format {value}; use one of {allowed}.", value=fmt, allowed=", ".join(DOWNLOAD_FORMATS))]})
    resource, version = _served(session, actor, resource_id, settings)
    return export.export(version.parquet_path, fmt, bom=bom), export.MEDIA_TYPES[fmt], f"{base}.{fmt}", resource


def dump(
    session: Session, actor: Actor, resource_id: str | uuid.UUID, fmt: str, *, settings: Settings, bom: bool = False
) -> tuple[Iterator[bytes], str, str, Resource]:
    """CKAN's ``/datastore/dump/{resource_id}?format=csv|tsv|json|xlsx&bom=true``."""
    fmt = (fmt or "csv").lower()
    if fmt not in export.DUMP_FORMATS:
        raise Invalid(fields={"format": [Msg("Unknown format {value}; use one of {allowed}.", value=fmt, allowed=", ".join(export.DUMP_FORMATS))]})
    resource, version = _served(session, actor, resource_id, settings)
    return export.dump(version.parquet_path, fmt, bom=bom), export.MEDIA_TYPES[fmt], f"{resource.id}.{fmt}", resource


def package(session: Session, actor: Actor, dataset_ref: str | uuid.UUID, *, settings: Settings, base_url: str = "") -> tuple[Iterator[bytes], str, Dataset]:
    """The ZIP package of a dataset: every loaded resource as CSV and a Frictionless
    ``datapackage.json``. Returns (chunks, file name, dataset)."""
    from dulieuso.opendata.licenses import list_licenses

    dataset = service.get_dataset(session, actor, dataset_ref)
    parts = []
    used: set[str] = set()
    for resource in dataset.resources:
        version = current_data(settings, resource)
        if version is None:
            continue
        name = _safe_filename(resource.name).lower().replace(".", "-")[:60] or str(resource.id)
        while name in used:
            name = f"{name}-{len(used)}"
        used.add(name)
        parts.append((name, version.parquet_path, dictionary(settings, resource)))
    if not parts:
        raise NotFound(Msg("This dataset has no data to package."), code="no_datastore_data")
    license_ = next((lic for lic in list_licenses(session) if lic.id == dataset.license_id), None)
    meta = {
        "name": dataset.name,
        "id": str(dataset.id),
        "title": dataset.title,
        "description": dataset.notes,
        "version": dataset.version or str(dataset.revision),
        "homepage": f"{base_url}/datasets/{dataset.name}",
        "keywords": service.tag_names(session, dataset.id),
        "licenses": [{"name": dataset.license_id, "path": license_.url if license_ else "", "title": license_.title_vi if license_ else dataset.license_id}],
        "created": dataset.metadata_created.isoformat(),
        "modified": dataset.metadata_modified.isoformat(),
        "citation": citation(session, dataset, base_url),
    }
    return export.package_zip(meta, parts), f"{dataset.name}.zip", dataset


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def citation(session: Session, dataset: Dataset, base_url: str = "") -> str:
    """"Agency (year). Title (version). Licence. URL" — or the agency's own text."""
    if dataset.attribution:
        return dataset.attribution
    from dulieuso.agencies.models import Agency

    agency = session.get(Agency, dataset.agency_id)
    year = (dataset.published_at or dataset.metadata_created).year
    version = f" (phiên bản {dataset.version})" if dataset.version else ""
    return f"{agency.name_vi if agency else ''} ({year}). {dataset.title}{version}. {base_url}/datasets/{dataset.name}".strip()


def count(session: Session, dataset_id: uuid.UUID, *, kind: str = "download", day: date | None = None) -> None:
    """Count one download (or API call) of a dataset today. Commits nothing; works on
    SQLite and PostgreSQL without an upsert dialect (insert, on conflict update)."""
    from dulieuso.policy.service import today

    day = day or today()
    column = DownloadCount.downloads if kind == "download" else DownloadCount.api_calls
    dataset_column = Dataset.download_count if kind == "download" else Dataset.api_call_count
    changed = session.execute(
        update(DownloadCount).where(DownloadCount.dataset_id == dataset_id, DownloadCount.day == day).values({column: column + 1})
    ).rowcount
    if not changed:
        try:
            with session.begin_nested():
                session.add(DownloadCount(dataset_id=dataset_id, day=day, downloads=int(kind == "download"), api_calls=int(kind != "download")))
        except IntegrityError:
            session.execute(
                update(DownloadCount).where(DownloadCount.dataset_id == dataset_id, DownloadCount.day == day).values({column: column + 1})
            )
    session.execute(update(Dataset).where(Dataset.id == dataset_id).values({dataset_column: dataset_column + 1}).execution_options(synchronize_session=False))


def downloads_by_day(session: Session, dataset_id: uuid.UUID, days: int = 30) -> list[tuple[date, int, int]]:
    rows = session.execute(
        select(DownloadCount.day, DownloadCount.downloads, DownloadCount.api_calls)
        .where(DownloadCount.dataset_id == dataset_id).order_by(DownloadCount.day.desc()).limit(days)
    )
    return [(d, n, a) for d, n, a in rows]


def can_edit(actor: Actor, dataset: Dataset) -> bool:
    return can(actor, OpenDataAction.EDIT, dataset.agency_id)
