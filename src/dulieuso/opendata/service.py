# SPDX-License-Identifier: AGPL-3.0-or-later
"""Datasets: create, update, patch, delete; tags and topics; version history; the
publication gate; who sees what.

Every read and write goes through here (STYLE.md §2): the JSON API, the pages, the CKAN
facade and the CLI call these functions with ``(session, actor, …)``. Resources, their
files, ingestion and downloads are in ``resources.py``; search in ``search.py``.

Visibility: a dataset is **public** when ``state == active`` and ``private`` is false.
Anyone may read public datasets (no login, Decree 47 Art. 17(1)(đ)); drafts and private
datasets are seen only by the agency's staff and platform administrators; everyone else
gets 404, not 403 (STYLE.md §8).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import diff, record, to_jsonable
from dulieuso.auth.permissions import SYSTEM, Actor, can, require
from dulieuso.catalog.models import (
    CategoryAvailability,
    Database,
    DataCategory,
    Importance,
    SharingForm,
    SharingScope,
    UpdateFrequency,
)
from dulieuso.errors import Conflict, DomainError, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.opendata import list_issues
from dulieuso.opendata.events import OpenDataEvent
from dulieuso.opendata.licenses import default_license_id
from dulieuso.opendata.models import (
    Dataset,
    DatasetGroup,
    DatasetRevision,
    DatasetSearchTerm,
    DatasetState,
    DatasetTag,
    Group,
    IngestStatus,
    License,
    PiiStatus,
    Resource,
    Tag,
    UrlType,
)
from dulieuso.opendata.permissions import OpenDataAction
from dulieuso.opendata.text import SLUG, make_slug, words
from dulieuso.vntext import fold

MAX_TAGS = 30
MAX_TAG_LENGTH = 100
TABULAR_FORMATS = frozenset({"csv", "tsv", "xlsx", "json", "geojson"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: Weights of the search index: a word in the title counts most.
WEIGHT_TITLE, WEIGHT_TAG, WEIGHT_AGENCY, WEIGHT_OTHER = 4, 3, 2, 1

#: Dataset fields a caller may set (create/update/patch), besides ``tags`` and ``groups``.
FIELDS = (
    "name", "title", "title_en", "notes", "agency", "source_database", "license_id", "attribution",
    "update_frequency", "temporal_from", "temporal_to", "spatial", "spatial_label",
    "contact_name", "contact_email", "version",
)


# ----------------------------------------------------------------------- visibility


def is_public(dataset: Dataset) -> bool:
    return dataset.state is DatasetState.ACTIVE and not dataset.private


def can_see(actor: Actor, dataset: Dataset) -> bool:
    if dataset.state is DatasetState.DELETED:
        return can(actor, OpenDataAction.VIEW_PRIVATE, None)  # platform admin only
    return is_public(dataset) or can(actor, OpenDataAction.VIEW_PRIVATE, dataset.agency_id)


@dataclass(frozen=True)
class Audience:
    """Which datasets a caller may list, as data: the one rule that both the SQL condition
    (``visible_clause``) and the in-memory search index (``search_index``) apply.

    Public datasets (active, not private) always. Besides them, when ``states`` is not
    empty: datasets in those states (private ones only when ``private``) of the agency
    ``agency_id``, or of every agency when ``every_agency``. Deleted datasets never."""

    states: tuple[DatasetState, ...] = ()
    private: bool = False
    every_agency: bool = False
    agency_id: uuid.UUID | None = None

    @property
    def public_only(self) -> bool:
        return not self.states or (not self.every_agency and self.agency_id is None)


def audience(actor: Actor, *, include_private: bool = False, include_drafts: bool = False) -> Audience:
    """What ``actor`` may list. Without the flags only public datasets; with
    ``include_private`` also private active ones (and with ``include_drafts`` drafts) of
    the agencies the actor may see: its own, or every one for a platform administrator."""
    if not (include_private or include_drafts):
        return Audience()
    states = (DatasetState.ACTIVE, DatasetState.DRAFT) if include_drafts else (DatasetState.ACTIVE,)
    if can(actor, OpenDataAction.VIEW_PRIVATE, None):
        return Audience(states, include_private, every_agency=True)
    if actor.agency_id is not None and can(actor, OpenDataAction.VIEW_PRIVATE, actor.agency_id):
        return Audience(states, include_private, agency_id=actor.agency_id)
    return Audience()


def visible_clause(actor: Actor, *, include_private: bool = False, include_drafts: bool = False) -> Any:
    """A SQL condition on ``Dataset`` for what ``actor`` may list (see ``audience``)."""
    seen = audience(actor, include_private=include_private, include_drafts=include_drafts)
    public = (Dataset.state == DatasetState.ACTIVE) & Dataset.private.is_(False)
    if seen.public_only:
        return public
    hidden = Dataset.state.in_(list(seen.states))
    if not seen.private:
        hidden = hidden & Dataset.private.is_(False)
    if seen.every_agency:
        return hidden
    return public | (hidden & (Dataset.agency_id == seen.agency_id))


def _parse_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None


def find_dataset(session: Session, ref: str | uuid.UUID) -> Dataset | None:
    """A dataset by id or by name (slug), whatever its state; no permission check."""
    ident = _parse_uuid(ref)
    if ident is not None:
        found = session.get(Dataset, ident)
        if found is not None:
            return found
    return session.scalar(select(Dataset).where(Dataset.name == str(ref).strip().lower()))


def get_dataset(session: Session, actor: Actor, ref: str | uuid.UUID) -> Dataset:
    """The dataset ``ref`` (id or slug) if ``actor`` may see it; else ``NotFound``."""
    dataset = find_dataset(session, ref)
    if dataset is None or not can_see(actor, dataset):
        raise NotFound(Msg("Dataset not found."), code="dataset_not_found")
    return dataset


def _editable(session: Session, actor: Actor, ref: str | uuid.UUID, action: OpenDataAction = OpenDataAction.EDIT) -> Dataset:
    dataset = get_dataset(session, actor, ref)
    if dataset.state is DatasetState.DELETED:
        raise NotFound(Msg("Dataset not found."), code="dataset_not_found")
    require(actor, action, dataset.agency_id)
    return dataset


# ----------------------------------------------------------------------- input


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _date(value: Any, name: str, errors: dict[str, list[Msg]]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    errors.setdefault(name, []).append(Msg("Enter a date as dd/mm/yyyy."))
    return None


def _agency(session: Session, ref: Any) -> Agency | None:
    ident = _parse_uuid(ref)
    if ident is not None:
        return session.get(Agency, ident)
    return session.scalar(select(Agency).where(Agency.code == str(ref).strip().upper()))


def _database(session: Session, ref: Any) -> Database | None:
    ident = _parse_uuid(ref)
    if ident is not None:
        return session.get(Database, ident)
    return session.scalar(select(Database).where(Database.code == str(ref).strip()))


def allows_open_data(session: Session, database: Database) -> bool:
    """Does the availability matrix of ``database`` offer any category as open data?"""
    stmt = (
        select(func.count())
        .select_from(CategoryAvailability)
        .join(DataCategory, DataCategory.id == CategoryAvailability.category_id)
        .where(DataCategory.database_id == database.id, CategoryAvailability.sharing_form == SharingForm.OPEN_DATA)
    )
    return bool(session.scalar(stmt))


def source_problems(session: Session, database: Database, *, for_publication: bool = False) -> list[Msg]:
    """Why ``database`` cannot be the source of an open dataset (empty: it can).

    A state-secret or private-scope database, or one whose matrix offers nothing as open
    data, is refused outright; core and important data (Law on Data Art. 3(6)-(7)) may be
    described in a draft but never published openly."""
    problems = []
    if database.contains_state_secret:
        problems.append(Msg("The source database contains state secrets; it cannot be published as open data."))
    if database.sharing_scope is SharingScope.PRIVATE:
        problems.append(Msg("The source database is for the agency's own use (private scope); it cannot be published as open data."))
    if not allows_open_data(session, database):
        problems.append(Msg("The availability matrix of the source database offers no data category as open data."))
    if for_publication and database.importance in (Importance.CORE, Importance.IMPORTANT):
        problems.append(Msg("The source database holds core or important data, which cannot be published as open data."))
    return problems


def _clean(session: Session, actor: Actor, data: Mapping[str, Any], current: Dataset | None) -> tuple[dict[str, Any], dict[str, list[Msg]]]:
    """Validate the given fields (only those present in ``data``)."""
    errors: dict[str, list[Msg]] = {}
    out: dict[str, Any] = {}

    def err(name: str, message: Msg) -> None:
        errors.setdefault(name, []).append(message)

    if "title" in data or current is None:
        title = _text(data.get("title"), 1000)
        if not title:
            err("title", Msg("This field is required."))
        elif len(title) > 300:
            err("title", Msg("The value is too long."))
        out["title"] = title
    if "name" in data and data.get("name") not in (None, ""):
        name = str(data["name"]).strip().lower()
        if not SLUG.match(name):
            err("name", Msg("Use only lower-case letters a-z, digits and hyphens (2-100 characters)."))
        else:
            taken = session.scalar(select(Dataset.id).where(Dataset.name == name))
            if taken is not None and (current is None or taken != current.id):
                err("name", Msg("That URL is already in use."))
        out["name"] = name
    for key, limit in (("title_en", 300), ("notes", 100_000), ("attribution", 2000), ("spatial", 60),
                       ("spatial_label", 200), ("contact_name", 200), ("version", 60)):
        if key in data:
            out[key] = _text(data.get(key), limit)
    if "contact_email" in data:
        email = _text(data.get("contact_email"), 254)
        if email and not _EMAIL.match(email):
            err("contact_email", Msg("Enter a valid e-mail address."))
        out["contact_email"] = email
    if "agency" in data or current is None:
        ref = data.get("agency") or (actor.agency_id if current is None else None)
        agency = _agency(session, ref) if ref else None
        if agency is None:
            err("agency", Msg("Choose the publishing agency."))
        else:
            if not can(actor, OpenDataAction.EDIT, agency.id):
                err("agency", Msg("You may only publish datasets of your own agency."))
            out["agency_id"] = agency.id
    if "source_database" in data:
        ref = data.get("source_database")
        if ref in (None, ""):
            out["source_database_id"] = None
        else:
            database = _database(session, ref)
            if database is None:
                err("source_database", Msg("Unknown source database {code}.", code=str(ref)))
            else:
                for problem in source_problems(session, database):
                    err("source_database", problem)
                out["source_database_id"] = database.id
    if "license_id" in data or current is None:
        license_id = _text(data.get("license_id"), 60) or default_license_id(session)
        if session.get(License, license_id) is None:
            err("license_id", Msg("Unknown licence {value}.", value=license_id))
        out["license_id"] = license_id
    if "update_frequency" in data:
        freq = _text(data.get("update_frequency"), 40) or None
        if freq is not None and freq not in {f.value for f in UpdateFrequency}:
            err("update_frequency", Msg("Unknown value {value}.", value=freq))
        out["update_frequency"] = freq
    for key in ("temporal_from", "temporal_to"):
        if key in data:
            out[key] = _date(data.get(key), key, errors)
    start = out.get("temporal_from", current.temporal_from if current else None)
    end = out.get("temporal_to", current.temporal_to if current else None)
    if start and end and end < start:
        err("temporal_to", Msg("The end of the period is before its start."))
    if "tags" in data:
        out["tags"] = _clean_tags(data.get("tags"), errors)
    if "groups" in data:
        names = _as_list(data.get("groups"))
        groups = []
        for name in names:
            group = session.scalar(select(Group).where(Group.name == str(name).strip().lower()))
            if group is None:
                err("groups", Msg("Unknown topic {value}.", value=str(name)))
            else:
                groups.append(group)
        out["groups"] = groups
    return out, errors


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    result = []
    for item in value:
        if isinstance(item, Mapping):
            item = item.get("name") or item.get("id")
        if item not in (None, ""):
            result.append(item)
    return result


def _clean_tags(value: Any, errors: dict[str, list[Msg]]) -> list[str]:
    tags: list[str] = []
    seen = set()
    for raw in _as_list(value):
        tag = " ".join(str(raw).split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            errors.setdefault("tags", []).append(Msg("Tag \"{tag}\" is too long.", tag=tag[:40]))
            continue
        key = fold(tag)
        if key not in seen:
            seen.add(key)
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        errors.setdefault("tags", []).append(Msg("At most {n} tags.", n=MAX_TAGS))
    return tags


def unique_slug(session: Session, base: str, exclude: uuid.UUID | None = None) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever is free."""
    base = base[:90].rstrip("-") or "bo-du-lieu"
    taken = set(session.scalars(select(Dataset.name).where(or_(Dataset.name == base, Dataset.name.like(f"{base}-%")))))
    if exclude is not None:
        own = session.scalar(select(Dataset.name).where(Dataset.id == exclude))
        taken.discard(own)
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


# ----------------------------------------------------------------------- views of a dataset


def tag_names(session: Session, dataset_id: uuid.UUID) -> list[str]:
    stmt = select(Tag.name).join(DatasetTag, DatasetTag.tag_id == Tag.id).where(DatasetTag.dataset_id == dataset_id).order_by(Tag.name)
    return list(session.scalars(stmt))


def dataset_groups(session: Session, dataset_id: uuid.UUID) -> list[Group]:
    stmt = select(Group).join(DatasetGroup, DatasetGroup.group_id == Group.id).where(DatasetGroup.dataset_id == dataset_id).order_by(Group.position, Group.name)
    return list(session.scalars(stmt))


def snapshot_of(session: Session, dataset: Dataset) -> dict[str, Any]:
    """The dataset as it is now, for the version history and the audit diff."""
    return {
        "name": dataset.name,
        "title": dataset.title,
        "title_en": dataset.title_en,
        "notes": dataset.notes,
        "agency_id": str(dataset.agency_id),
        "source_database_id": str(dataset.source_database_id) if dataset.source_database_id else None,
        "license_id": dataset.license_id,
        "attribution": dataset.attribution,
        "update_frequency": dataset.update_frequency,
        "temporal_from": to_jsonable(dataset.temporal_from),
        "temporal_to": to_jsonable(dataset.temporal_to),
        "spatial": dataset.spatial,
        "spatial_label": dataset.spatial_label,
        "contact_name": dataset.contact_name,
        "contact_email": dataset.contact_email,
        "private": dataset.private,
        "state": dataset.state.value,
        "version": dataset.version,
        "tags": tag_names(session, dataset.id),
        "groups": [g.name for g in dataset_groups(session, dataset.id)],
        "resources": [
            {"id": str(r.id), "name": r.name, "format": r.format, "hash": r.hash, "datastore_version": r.datastore_version}
            for r in sorted(dataset.resources, key=lambda r: r.position)
        ],
    }


def _set_tags(session: Session, dataset: Dataset, tags: Sequence[str]) -> None:
    session.execute(delete(DatasetTag).where(DatasetTag.dataset_id == dataset.id))
    for name in tags:
        tag = session.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name, folded=fold(name)[:100])
            session.add(tag)
            session.flush()
        session.add(DatasetTag(dataset_id=dataset.id, tag_id=tag.id))


def _set_groups(session: Session, dataset: Dataset, groups: Sequence[Group]) -> None:
    session.execute(delete(DatasetGroup).where(DatasetGroup.dataset_id == dataset.id))
    for group in {g.id: g for g in groups}.values():
        session.add(DatasetGroup(dataset_id=dataset.id, group_id=group.id))


def reindex(session: Session, dataset: Dataset) -> None:
    """Rebuild the dataset's search words (title, tags, agency, description, fields)."""
    session.flush()
    weights: dict[str, int] = {}

    def add(text: str | None, weight: int) -> None:
        for word in words(text):
            if weights.get(word, 0) < weight:
                weights[word] = weight

    agency = session.get(Agency, dataset.agency_id)
    tags = tag_names(session, dataset.id)
    add(dataset.notes, WEIGHT_OTHER)
    add(dataset.spatial_label, WEIGHT_OTHER)
    for resource in dataset.resources:
        add(resource.name, WEIGHT_OTHER)
        add(resource.description, WEIGHT_OTHER)
        for field_id, info in (resource.dictionary or {}).items():
            add(field_id.replace("_", " "), WEIGHT_OTHER)
            add(str(info.get("label", "")), WEIGHT_OTHER)
    for group in dataset_groups(session, dataset.id):
        add(group.title_vi, WEIGHT_OTHER)
    if agency is not None:
        add(agency.name_vi, WEIGHT_AGENCY)
        add(agency.short_name, WEIGHT_AGENCY)
        add(agency.code, WEIGHT_AGENCY)
    for tag in tags:
        add(tag, WEIGHT_TAG)
    add(dataset.title, WEIGHT_TITLE)
    add(dataset.title_en, WEIGHT_TITLE)
    session.execute(delete(DatasetSearchTerm).where(DatasetSearchTerm.dataset_id == dataset.id))
    if weights:
        session.execute(
            DatasetSearchTerm.__table__.insert(),
            [{"dataset_id": dataset.id, "term": term, "weight": weight} for term, weight in weights.items()],
        )
    dataset.search_text = " ".join(sorted(weights))
    dataset.quality_score, dataset.quality = quality(session, dataset)


def quality(session: Session, dataset: Dataset) -> tuple[float, dict[str, bool]]:
    """uData's metadata quality score (ANCHORS §2.1): criteria met / criteria."""
    today = datetime.now(UTC).date()
    license_ = session.get(License, dataset.license_id)
    resources = list(dataset.resources)
    criteria = {
        "license": license_ is not None and license_.is_open,
        "temporal_coverage": dataset.temporal_from is not None,
        "spatial_coverage": bool(dataset.spatial or dataset.spatial_label),
        "update_frequency": bool(dataset.update_frequency),
        "update_fulfilled_in_time": dataset.next_update_due is None or dataset.next_update_due >= today,
        "description_length": len(dataset.notes or "") >= 100,
        "open_format": any(r.format.lower() in {"csv", "json", "geojson", "xlsx", "tsv", "parquet"} for r in resources),
        "resources_available": bool(resources) and all(r.url_type is UrlType.LINK or r.datastore_active or r.storage_path for r in resources),
        "resources_documented": bool(resources) and all(bool(r.description) for r in resources),
    }
    return round(sum(criteria.values()) / len(criteria), 3), criteria


def _revise(session: Session, actor: Actor, dataset: Dataset, action: str) -> DatasetRevision:
    """Append the dataset's state to its version history."""
    session.flush()
    number = (session.scalar(select(func.max(DatasetRevision.number)).where(DatasetRevision.dataset_id == dataset.id)) or 0) + 1
    dataset.revision = number
    revision = DatasetRevision(
        dataset_id=dataset.id, number=number, actor_label=actor.label, action=action, snapshot=snapshot_of(session, dataset)
    )
    session.add(revision)
    return revision


def touch(dataset: Dataset) -> None:
    dataset.metadata_modified = datetime.now(UTC)


# ----------------------------------------------------------------------- create / update / delete


def create_dataset(session: Session, actor: Actor, data: Mapping[str, Any]) -> Dataset:
    """Create a dataset (a private draft). ``data`` keys: ``FIELDS`` plus ``tags`` (names)
    and ``groups`` (topic names). ``agency`` defaults to the actor's agency; ``name`` (the
    slug) defaults to the transliterated title, made unique with ``-2``, ``-3``…"""
    if actor.agency_id is not None:
        require(actor, OpenDataAction.EDIT, actor.agency_id)
    elif not can(actor, OpenDataAction.EDIT, None):
        require(actor, OpenDataAction.EDIT, uuid.uuid4())  # raises the right error
    values, errors = _clean(session, actor, data, None)
    if errors:
        raise Invalid(fields=errors)
    tags = values.pop("tags", [])
    groups = values.pop("groups", [])
    name = values.pop("name", None) or unique_slug(session, make_slug(values["title"]))
    now = datetime.now(UTC)
    dataset = Dataset(
        name=name, private=True, state=DatasetState.DRAFT, metadata_created=now, metadata_modified=now,
        creator_user_id=actor.user_id, **values,
    )
    session.add(dataset)
    session.flush()
    _set_tags(session, dataset, tags)
    _set_groups(session, dataset, groups)
    reindex(session, dataset)
    _revise(session, actor, dataset, "create")
    record(session, actor, OpenDataEvent.DATASET_CREATE, dataset, after=snapshot_of(session, dataset), label=dataset.name)
    return dataset


def update_dataset(session: Session, actor: Actor, ref: str | uuid.UUID, data: Mapping[str, Any], *, partial: bool = True) -> Dataset:
    """Change a dataset's metadata. ``partial`` (patch): only the keys given change;
    otherwise (update) missing optional fields are cleared, as CKAN's package_update."""
    dataset = _editable(session, actor, ref)
    before = snapshot_of(session, dataset)
    if not partial:
        data = {**{k: None for k in FIELDS if k not in ("name", "agency", "license_id")}, "tags": [], "groups": [], **data}
    values, errors = _clean(session, actor, data, dataset)
    if errors:
        raise Invalid(fields=errors)
    tags = values.pop("tags", None)
    groups = values.pop("groups", None)
    for key, value in values.items():
        setattr(dataset, key, value)
    if tags is not None:
        _set_tags(session, dataset, tags)
    if groups is not None:
        _set_groups(session, dataset, groups)
    session.flush()
    after = snapshot_of(session, dataset)
    if after == before:
        return dataset
    touch(dataset)
    reindex(session, dataset)
    _revise(session, actor, dataset, "update")
    record(session, actor, OpenDataEvent.DATASET_UPDATE, dataset, before=before, after=after, label=dataset.name)
    return dataset


def delete_dataset(session: Session, actor: Actor, ref: str | uuid.UUID) -> Dataset:
    """Mark a dataset deleted (CKAN keeps it with ``state = deleted``); it disappears from
    every public list and page. Its data files stay until purged by an administrator."""
    dataset = _editable(session, actor, ref, OpenDataAction.DELETE)
    before = snapshot_of(session, dataset)
    dataset.state = DatasetState.DELETED
    dataset.private = True
    touch(dataset)
    _revise(session, actor, dataset, "delete")
    record(session, actor, OpenDataEvent.DATASET_DELETE, dataset, before=before, after=snapshot_of(session, dataset), label=dataset.name)
    return dataset


# ----------------------------------------------------------------------- publication gate


@dataclass(frozen=True)
class Blocker:
    """One reason a dataset cannot be made public (``resource_id`` when it is a resource's)."""

    code: str
    message: Msg
    resource_id: uuid.UUID | None = None

    def as_dict(self, lang: str = "vi") -> dict[str, Any]:
        return {"code": self.code, "message": self.message.render(lang), "resource_id": str(self.resource_id) if self.resource_id else None}


def pii_cleared(resource: Resource) -> bool:
    """Is the resource's current data version cleared by the personal-data gate?"""
    if resource.datastore_version is None:
        return True  # nothing in the datastore (a link or a document)
    if resource.pii_version != resource.datastore_version or resource.pii_status is PiiStatus.NOT_SCANNED:
        return False
    if resource.pii_status is PiiStatus.PERSONAL_DATA:
        return resource.pii_override_version == resource.datastore_version and bool(resource.pii_override_reason)
    return True


def publication_blockers(session: Session, dataset: Dataset) -> list[Blocker]:
    """Everything that stops ``dataset`` from becoming public (empty: it may be published).

    While the policy switch ``open_data_issued_list_required`` is on, a dataset must be
    on the latest issued open-data list (Decree 47 Art. 17(2), kept as local policy): a
    planned dataset of the latest issued version links to it. The gate applies when a
    dataset becomes public; a dataset already public is not unpublished by a later
    issue that leaves it out (the plan page lists such datasets).
    """
    blockers: list[Blocker] = []
    if list_issues.required(session) and not list_issues.on_issued_list(session, dataset):
        blockers.append(Blocker(
            "not_on_issued_list",
            Msg("This dataset is not on the issued open-data list: link it to a planned dataset of its agency and record the list's issuing decision."),
        ))
    if dataset.source_database_id is None:
        blockers.append(Blocker("no_source", Msg("Choose the source database (from the catalog) this dataset comes from.")))
    else:
        database = session.get(Database, dataset.source_database_id)
        if database is None:
            blockers.append(Blocker("no_source", Msg("The source database no longer exists in the catalog.")))
        else:
            for problem in source_problems(session, database, for_publication=True):
                blockers.append(Blocker("source_refused", problem))
    license_ = session.get(License, dataset.license_id)
    if license_ is None or not license_.is_open:
        blockers.append(Blocker("license_not_open", Msg("Choose an open licence.")))
    resources = list(dataset.resources)
    if not resources:
        blockers.append(Blocker("no_resources", Msg("Add at least one resource (a file or a link).")))
    for resource in resources:
        if resource.ingest_status in (IngestStatus.QUEUED, IngestStatus.RUNNING):
            blockers.append(Blocker("ingest_running", Msg("Resource \"{name}\" is still being loaded.", name=resource.name), resource.id))
            continue
        if resource.url_type is UrlType.UPLOAD and resource.format.lower() in TABULAR_FORMATS and resource.datastore_version is None:
            blockers.append(Blocker("no_data", Msg("Resource \"{name}\" has no loaded data; upload it again.", name=resource.name), resource.id))
            continue
        if resource.datastore_version is not None and not pii_cleared(resource):
            if resource.pii_status is PiiStatus.PERSONAL_DATA and resource.pii_version == resource.datastore_version:
                blockers.append(Blocker(
                    "personal_data",
                    Msg("Resource \"{name}\" appears to contain personal data; an approver must review it and override with a written reason.", name=resource.name),
                    resource.id,
                ))
            else:
                blockers.append(Blocker("not_scanned", Msg("Resource \"{name}\" has not been scanned for personal data.", name=resource.name), resource.id))
    return blockers


def next_update_due(session: Session, dataset: Dataset, start: datetime) -> date:
    """When the data must next be updated: by its update frequency, and at the latest by
    the ``open_data_update`` policy (3 months after publication, Decree 47 Art. 20(3))."""
    from dulieuso.policy import service as policy

    local = policy.local_date(start)
    try:
        by_policy = policy.deadline(session, "open_data_update", local)
    except DomainError:
        by_policy = policy.add_months(local, 3)
    assert isinstance(by_policy, date)
    months = {"monthly": 1, "quarterly": 3, "yearly": 12}.get(dataset.update_frequency or "")
    if months is not None:
        by_frequency = policy.add_months(local, months)
        assert isinstance(by_frequency, date)
        return min(by_policy, by_frequency)
    return by_policy


def publish(session: Session, actor: Actor, ref: str | uuid.UUID) -> Dataset:
    """Make a dataset public: ``private = false``, ``state = active``. Refused with the
    list of reasons (``Conflict``, code ``publication_blocked``, ``extra["reasons"]``)
    while anything in :func:`publication_blockers` stands."""
    dataset = _editable(session, actor, ref, OpenDataAction.PUBLISH)
    blockers = publication_blockers(session, dataset)
    if blockers:
        raise Conflict(
            Msg("The dataset cannot be published yet."),
            code="publication_blocked",
            extra={"reasons": [b.as_dict() for b in blockers], "reasons_en": [b.as_dict("en")["message"] for b in blockers]},
        )
    if is_public(dataset):
        return dataset
    before = snapshot_of(session, dataset)
    now = datetime.now(UTC)
    dataset.private = False
    dataset.state = DatasetState.ACTIVE
    if dataset.published_at is None:
        dataset.published_at = now
    dataset.next_update_due = next_update_due(session, dataset, now)
    touch(dataset)
    reindex(session, dataset)
    _revise(session, actor, dataset, "publish")
    overrides = [
        {"resource_id": str(r.id), "version": r.pii_override_version, "reason": r.pii_override_reason, "by": r.pii_override_by}
        for r in dataset.resources if r.pii_status is PiiStatus.PERSONAL_DATA
    ]
    record(
        session, actor, OpenDataEvent.DATASET_PUBLISH, dataset, before=before, after=snapshot_of(session, dataset),
        label=dataset.name, details={"pii_overrides": overrides} if overrides else None,
    )
    return dataset


def make_private(session: Session, actor: Actor, ref: str | uuid.UUID, *, reason: str = "") -> Dataset:
    """Take a dataset back from the public (it stays ``active`` for its agency)."""
    dataset = _editable(session, actor, ref, OpenDataAction.PUBLISH)
    return _hide(session, actor, dataset, reason)


def _hide(session: Session, actor: Actor, dataset: Dataset, reason: str) -> Dataset:
    if dataset.private:
        return dataset
    before = snapshot_of(session, dataset)
    dataset.private = True
    touch(dataset)
    reindex(session, dataset)
    _revise(session, actor, dataset, "make_private")
    record(
        session, actor, OpenDataEvent.DATASET_MAKE_PRIVATE, dataset, before=before, after=snapshot_of(session, dataset),
        label=dataset.name, details={"reason": reason} if reason else None,
    )
    return dataset


def hide_for_personal_data(session: Session, dataset: Dataset) -> None:
    """Called when a public dataset's new data version is found to hold personal data:
    the dataset is taken back from the public until an approver reviews it."""
    _hide(session, SYSTEM, dataset, "personal data found in a new data version")


# ----------------------------------------------------------------------- history


@dataclass(frozen=True)
class RevisionView:
    number: int
    created_at: datetime
    actor_label: str
    action: str
    changed: dict[str, Any] = field(default_factory=dict)


def history(session: Session, actor: Actor, ref: str | uuid.UUID) -> list[RevisionView]:
    """The dataset's versions, newest first, each with what changed from the one before."""
    dataset = get_dataset(session, actor, ref)
    rows = list(session.scalars(select(DatasetRevision).where(DatasetRevision.dataset_id == dataset.id).order_by(DatasetRevision.number)))
    views = []
    previous: dict[str, Any] | None = None
    for row in rows:
        views.append(RevisionView(row.number, row.created_at, row.actor_label, row.action, diff(previous, row.snapshot) if previous is not None else {}))
        previous = row.snapshot
    return list(reversed(views))


def revision_diff(session: Session, actor: Actor, ref: str | uuid.UUID, old: int, new: int) -> dict[str, Any]:
    """``{field: [old value, new value]}`` between two versions of a dataset."""
    dataset = get_dataset(session, actor, ref)
    found = {
        r.number: r.snapshot
        for r in session.scalars(select(DatasetRevision).where(DatasetRevision.dataset_id == dataset.id, DatasetRevision.number.in_([old, new])))
    }
    missing = [n for n in (old, new) if n not in found]
    if missing:
        raise NotFound(Msg("Version {n} of this dataset does not exist.", n=missing[0]))
    return diff(found[old], found[new])


# ----------------------------------------------------------------------- topics (groups)


def list_groups(session: Session) -> list[Group]:
    return list(session.scalars(select(Group).order_by(Group.position, Group.name)))


def get_group(session: Session, ref: str | uuid.UUID) -> Group:
    ident = _parse_uuid(ref)
    group = session.get(Group, ident) if ident else None
    if group is None:
        group = session.scalar(select(Group).where(Group.name == str(ref).strip().lower()))
    if group is None:
        raise NotFound(Msg("Topic not found."), code="group_not_found")
    return group


def save_group(session: Session, actor: Actor, data: Mapping[str, Any], ref: str | uuid.UUID | None = None) -> Group:
    """Create (``ref`` None) or update a topic: ``name``, ``title_vi``, ``title_en``,
    ``description``, ``image_url``, ``position``."""
    require(actor, OpenDataAction.GROUP_MANAGE)
    group = get_group(session, ref) if ref is not None else None
    errors: dict[str, list[Msg]] = {}
    title = _text(data.get("title_vi", group.title_vi if group else ""), 200)
    if not title:
        errors["title_vi"] = [Msg("This field is required.")]
    name = _text(data.get("name"), 100).lower() or (group.name if group else make_slug(title))
    if not SLUG.match(name):
        errors["name"] = [Msg("Use only lower-case letters a-z, digits and hyphens (2-100 characters).")]
    else:
        taken = session.scalar(select(Group.id).where(Group.name == name))
        if taken is not None and (group is None or taken != group.id):
            errors["name"] = [Msg("That URL is already in use.")]
    if errors:
        raise Invalid(fields=errors)
    before = None
    if group is None:
        group = Group(name=name, title_vi=title)
        session.add(group)
        tag = OpenDataEvent.GROUP_CREATE
    else:
        from dulieuso.audit.service import snapshot

        before = snapshot(group)
        tag = OpenDataEvent.GROUP_UPDATE
    group.name = name
    group.title_vi = title
    for key, limit in (("title_en", 200), ("description", 5000), ("image_url", 500)):
        if key in data:
            setattr(group, key, _text(data.get(key), limit))
    if "position" in data:
        group.position = int(data.get("position") or 0)
    session.flush()
    from dulieuso.audit.service import snapshot

    record(session, actor, tag, group, before=before, after=snapshot(group), label=group.name)
    return group


def delete_group(session: Session, actor: Actor, ref: str | uuid.UUID) -> None:
    require(actor, OpenDataAction.GROUP_MANAGE)
    group = get_group(session, ref)
    from dulieuso.audit.service import snapshot

    record(session, actor, OpenDataEvent.GROUP_DELETE, group, before=snapshot(group), label=group.name)
    session.delete(group)
    session.flush()


def group_counts(session: Session, actor: Actor) -> dict[uuid.UUID, int]:
    """Public datasets per topic."""
    stmt = (
        select(DatasetGroup.group_id, func.count())
        .join(Dataset, Dataset.id == DatasetGroup.dataset_id)
        .where(visible_clause(actor))
        .group_by(DatasetGroup.group_id)
    )
    return {gid: n for gid, n in session.execute(stmt)}


def touch_many(datasets: Iterable[Dataset]) -> None:
    for dataset in datasets:
        touch(dataset)
