# SPDX-License-Identifier: AGPL-3.0-or-later
"""The CKAN Action API facade: ``/api/3/action/{name}`` and ``/api/action/{name}``.

CKAN clients (``ckanapi``, ``ckanr``, the national portal's harvester) talk to us as they
would to a CKAN 2.10 site: the same envelope (``help``, ``success``, ``result`` /
``error.__type``), the same status codes, GET only for read actions, JSONP on GET, a
bare JSON string with 400 for unknown actions (``ANCHORS.md`` §1.2, §8).

This module is thin by design (STYLE.md §2): it parses CKAN's loosely typed parameters
(``ckan_schemas``; ``package_search``'s in ``ckan_search``, which runs them through the
platform's one dataset search), calls the open-data and datastore service functions,
which check permissions, and shapes their results as CKAN dicts. "Package" is CKAN's
word for a dataset and appears only here and in the action names.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import String, Text, bindparam, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from dulieuso.agencies.models import Agency
from dulieuso.auth import service as auth_service
from dulieuso.auth.permissions import ANONYMOUS, Actor
from dulieuso.config import Settings
from dulieuso.datastore import query as datastore_query
from dulieuso.db import UTCDateTime
from dulieuso.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unauthorized
from dulieuso.i18n import Msg
from dulieuso.opendata import ckan_search
from dulieuso.opendata import resources as opendata_resources
from dulieuso.opendata import service as opendata_service
from dulieuso.opendata.ckan_schemas import (
    CkanError,
    ParamError,
    as_bool,
    as_int,
    as_list,
    as_str,
    group_dict,
    license_dict,
    org_name,
    organization_dict,
    package_dict,
    resource_dict,
    tag_dict,
)
from dulieuso.opendata.licenses import list_licenses
from dulieuso.opendata.models import (
    Dataset,
    DatasetGroup,
    DatasetTag,
    Group,
    License,
    Resource,
    Tag,
)
from dulieuso.vntext import fold
from dulieuso.web.deps import get_lang

log = logging.getLogger("dulieuso.ckan")

router = APIRouter(include_in_schema=False)

#: The CKAN API level we emulate (reported by ``status_show``).
CKAN_VERSION = "2.10.0"
_CALLBACK = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$.]{0,63}$")
#: Query keys that are transport, not action parameters.
_TRANSPORT_KEYS = frozenset({"callback", "_", "lang"})


@dataclass
class Call:
    """What an action gets: the session, who calls, and request facts."""

    session: Session
    actor: Actor
    settings: Settings
    lang: str
    base_url: str
    action: str
    files: dict[str, UploadFile] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    function: Callable[[Call, dict[str, Any]], Any]
    #: CKAN's ``side_effect_free``: may be called with GET.
    read_only: bool


# ----------------------------------------------------------------------- envelope


def _json(body: Any, status: int, callback: str | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(", ", ": "))
    if callback is not None:
        # JSONP (CKAN: GET and 200 only); the callback name was checked to be an identifier.
        return Response(f"{callback}({text});", status_code=status, media_type="application/javascript;charset=utf-8")
    return Response(text, status_code=status, media_type="application/json;charset=utf-8")


def bad_request(message: str) -> Response:
    """CKAN answers transport errors with a bare JSON string, not the envelope."""
    return _json(f"Bad request - {message}", 400)


def _help_url(base_url: str, name: str) -> str:
    return f"{base_url}/api/3/action/help_show?name={name}"


_PREFIX = {
    "Not Found Error": Msg("Not found"),
    "Authorization Error": Msg("Access denied"),
    "Search Query Error": None,
    "Internal Server Error": Msg("Internal Server Error"),
}


def error_body(error: Exception, lang: str) -> tuple[int, dict[str, Any]]:
    """Map a domain or facade error to CKAN's (status, ``error`` object)."""
    if isinstance(error, CkanError):
        body: dict[str, Any] = {"__type": error.ckan_type}
        if error.fields and error.ckan_type == "Validation Error":
            body.update({k: [m.render(lang) for m in v] for k, v in error.fields.items()})
        else:
            body["message"] = error.message.render(lang)
        return error.status, body
    if isinstance(error, NotFound):
        return 404, {"__type": "Not Found Error", "message": f"{Msg('Not found').render(lang)}: {error.message.render(lang)}"}
    if isinstance(error, Forbidden | Unauthorized):
        return 403, {"__type": "Authorization Error", "message": f"{Msg('Access denied').render(lang)}: {error.message.render(lang)}"}
    if isinstance(error, DomainError) and error.status in {409, 422} or isinstance(error, Invalid):
        assert isinstance(error, DomainError)
        body = {"__type": "Validation Error"}
        if error.fields:
            body.update({k: [m.render(lang) for m in v] for k, v in error.fields.items()})
        else:
            body["message"] = error.message.render(lang)
        return 409, body
    if isinstance(error, DomainError) and error.status == 400:
        return 400, {"__type": "Integrity Error", "message": error.message.render(lang), "data": error.extra or {}}
    if isinstance(error, DomainError) and error.status in {413, 429, 503}:
        return error.status, {"__type": "Validation Error" if error.status == 413 else "Internal Server Error", "message": error.message.render(lang)}
    return 500, {"__type": "Internal Server Error", "message": Msg("Internal Server Error").render(lang)}


# ----------------------------------------------------------------------- request data


class _BadRequest(Exception):
    pass


async def _request_data(request: Request) -> tuple[dict[str, Any], dict[str, UploadFile]]:
    """CKAN's ``_get_request_data``: query parameters on GET (a repeated key becomes a
    list), a JSON object or a form (multipart for uploads) on POST."""
    files: dict[str, UploadFile] = {}
    if request.method == "GET":
        return _multi(request.query_params.multi_items()), files
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in {"multipart/form-data", "application/x-www-form-urlencoded"}:
        form = await request.form()
        data: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = value
            elif key in data:
                data[key] = [*data[key], value] if isinstance(data[key], list) else [data[key], value]
            else:
                data[key] = value
        return data, files
    raw = await request.body()
    if not raw.strip():
        return _multi(request.query_params.multi_items()), files
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise _BadRequest(f"JSON Error: Error decoding JSON data. Error: {exc}") from None
    if not isinstance(parsed, dict):
        raise _BadRequest("JSON Error: Request data JSON decoded to a non-dictionary object")
    return parsed, files


def _multi(items: list[tuple[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in items:
        if key in data:
            data[key] = [*data[key], value] if isinstance(data[key], list) else [data[key], value]
        else:
            data[key] = value
    return data


def _token(request: Request) -> str | None:
    """ckanapi sends the raw key in ``Authorization`` (and ``X-CKAN-API-Key``); other
    clients send ``Bearer <token>``. Both are accepted."""
    header = request.headers.get("authorization", "").strip() or request.headers.get("x-ckan-api-key", "").strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return rest.strip()
    return header


def _actor(session: Session, request: Request, token: str | None) -> Actor:
    request_id = getattr(request.state, "request_id", None)
    if token is None:
        return Actor(role=ANONYMOUS.role, request_id=request_id)
    user = auth_service.user_for_token(session, token)
    if user is None:
        raise Forbidden(Msg("The API token is invalid, expired or revoked."), code="bad_token")
    session.commit()  # token bookkeeping (last use)
    return auth_service.actor_for(user, request_id=request_id, via="api")


# ----------------------------------------------------------------------- the route


@router.api_route("/api/3/action/{name}", methods=["GET", "POST"])
@router.api_route("/api/action/{name}", methods=["GET", "POST"])
async def action_endpoint(name: str, request: Request) -> Response:
    action = ACTIONS.get(name)
    if action is None:
        return bad_request(f"Action name not known: {name}")
    if request.method == "GET" and not action.read_only:
        return bad_request("JSON Error: Invalid request. Please use POST method for your request")
    try:
        data, files = await _request_data(request)
    except _BadRequest as exc:
        return bad_request(str(exc))
    callback = None
    if request.method == "GET" and "callback" in data:
        callback = data.get("callback")
        if not isinstance(callback, str) or not _CALLBACK.match(callback):
            return bad_request("Invalid JSONP callback name")
    if request.method == "GET":
        data = {k: v for k, v in data.items() if k not in _TRANSPORT_KEYS}
    settings: Settings = request.app.state.settings
    base_url = settings.base_url.rstrip("/")
    lang = get_lang(request)
    token = _token(request)
    status, body = await run_in_threadpool(_run, request, name, action, data, files, token, settings, base_url, lang)
    if status != 200:
        callback = None
    return _json(body, status, callback)


def _run(
    request: Request,
    name: str,
    action: Action,
    data: dict[str, Any],
    files: dict[str, UploadFile],
    token: str | None,
    settings: Settings,
    base_url: str,
    lang: str,
) -> tuple[int, dict[str, Any]]:
    envelope: dict[str, Any] = {"help": _help_url(base_url, name)}
    session: Session = request.app.state.sessionmaker()
    try:
        actor = _actor(session, request, token)
        call = Call(session, actor, settings, lang, base_url, name, files)
        result = action.function(call, data)
        if action.read_only:
            session.rollback()
        else:
            session.commit()
        envelope.update(success=True, result=result)
        return 200, envelope
    except (DomainError, CkanError) as error:
        session.rollback()
        status, body = error_body(error, lang)
    except Exception:
        session.rollback()
        log.exception("CKAN action failed", extra={"action": name})
        status, body = error_body(RuntimeError(), lang)
    finally:
        session.close()
    envelope.update(success=False, error=body)
    return status, envelope


def parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def require(data: Mapping[str, Any], name: str) -> Any:
    value = data.get(name)
    if value is None or value == "":
        raise Invalid(fields={name: [Msg("Missing value")]})
    return value


# ======================================================================= read actions
#
# Reads of datasets go through ``_visible``: the one place that says which datasets a
# caller may see, taken from the open-data service.


def _visible(actor: Actor, *, include_private: bool = False, include_drafts: bool = False) -> Any:
    return visible(actor, include_private=include_private, include_drafts=include_drafts)


def visible(actor: Actor, *, include_private: bool = False, include_drafts: bool = False) -> Any:
    """The SQL condition on ``Dataset`` of what ``actor`` may list (the service's rule)."""
    return opendata_service.visible_clause(actor, include_private=include_private, include_drafts=include_drafts)


def status_show(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return the site's status: title, description, URL, default locale, extensions and
    the CKAN API level this server emulates (``ckan_version``)."""
    return {
        "site_title": call.settings.site_name,
        "site_description": "Cổng dữ liệu mở tỉnh Lai Châu / Lai Chau provincial open data portal",
        "site_url": call.base_url,
        "error_emails_to": None,
        "locale_default": call.settings.default_language,
        "locales_offered": ["vi", "en"],
        "extensions": ["datastore", "dcat"],
        "ckan_version": CKAN_VERSION,
    }


def help_show(call: Call, data: dict[str, Any]) -> str:
    """Return the help text of an action.

    :param name: the action's name, e.g. ``package_search``
    """
    name = str(require(data, "name"))
    text = help_text(name)
    if text is None:
        raise NotFound(Msg("Action function not found"))
    return text


def site_read(call: Call, data: dict[str, Any]) -> bool:
    """Return ``true``: the site may be read (open data needs no login)."""
    return True


def package_list(call: Call, data: dict[str, Any]) -> list[str]:
    """Return the names of the site's public datasets, sorted by name.

    :param limit: how many names to return (optional)
    :param offset: how many names to skip (optional)
    """
    limit = as_int(data, "limit", None)
    offset = as_int(data, "offset", 0) or 0
    stmt = select(Dataset.name).where(_visible(call.actor)).order_by(Dataset.name).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(call.session.scalars(stmt))


def current_package_list_with_resources(call: Call, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Return public datasets with their resources, most recently modified first.

    :param limit: how many datasets (optional)
    :param offset: how many to skip (optional); ``page`` (1-based) is also accepted
    """
    limit = as_int(data, "limit", None)
    offset = as_int(data, "offset", 0) or 0
    page = as_int(data, "page", None, minimum=1)
    if page is not None and limit:
        offset = (page - 1) * limit
    stmt = select(Dataset.id).where(_visible(call.actor)).order_by(Dataset.metadata_modified.desc(), Dataset.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return _package_dicts(call, list(call.session.scalars(stmt)))


def _get_dataset(call: Call, ref: Any) -> Dataset:
    """The dataset by id or name, or ``NotFound`` when it does not exist or the caller
    may not see it (a private dataset's existence is not revealed)."""
    if ref is None or ref == "":
        raise Invalid(fields={"id": [Msg("Missing value")]})
    return opendata_service.get_dataset(call.session, call.actor, str(ref))


def package_show(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return one dataset with its resources, tags, groups and organization.

    :param id: the dataset's id or name
    """
    found = _get_dataset(call, data.get("id") or data.get("name"))
    opendata_resources.refresh_all(call.session, found, call.settings)
    call.session.commit()  # ingest outcomes, learnt on this read
    return _package_dicts(call, [found.id])[0]


def resource_show(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return one resource.

    :param id: the resource's id
    """
    resource = _get_resource(call, require(data, "id"))
    opendata_resources.refresh(call.session, resource, call.settings)
    call.session.commit()  # the ingest outcome, learnt on this read
    return _resource_result(call, resource)


def _get_resource(call: Call, ref: Any) -> Resource:
    return opendata_resources.get_resource(call.session, call.actor, str(ref))


def _agencies(call: Call) -> list[Agency]:
    return list(call.session.scalars(select(Agency).order_by(Agency.code)))


def _count_by(call: Call, column: Any, join: Any = None) -> dict[Any, int]:
    stmt = select(column, func.count(func.distinct(Dataset.id))).select_from(Dataset)
    if join is not None:
        stmt = stmt.join(*join)
    stmt = stmt.where(_visible(call.actor)).group_by(column)
    return {key: count for key, count in call.session.execute(stmt)}


def _list_params(data: dict[str, Any], names_key: str) -> tuple[bool, int | None, int, str, list[str]]:
    all_fields = as_bool(data, "all_fields", False)
    limit = as_int(data, "limit", None)
    offset = as_int(data, "offset", 0) or 0
    sort = as_str(data, "sort", "title asc" if all_fields else "name asc").strip() or "name asc"
    wanted = as_list(data.get(names_key), names_key)
    return all_fields, limit, offset, sort, wanted


def _sort_named(items: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    bits = sort.split()
    key = bits[0] if bits else "name"
    if key not in {"name", "title", "package_count"}:
        raise ParamError("sort", Msg("Cannot sort by field `{field}`", field=key[:40]))
    descending = len(bits) > 1 and bits[1].lower() == "desc"
    return sorted(items, key=lambda d: (d.get(key) or 0) if key == "package_count" else fold(str(d.get(key) or "")), reverse=descending)


def organization_list(call: Call, data: dict[str, Any]) -> list[Any]:
    """Return the publishing agencies (CKAN organizations): names, or dicts with
    ``all_fields=true``.

    :param all_fields: return dicts instead of names (optional, default false)
    :param sort: ``name``, ``title`` or ``package_count``, ``asc``/``desc``
    :param limit: / :param offset: paging (optional)
    :param organizations: only these names (optional)
    :param include_dataset_count: add ``package_count`` (default true with all_fields)
    """
    all_fields, limit, offset, sort, wanted = _list_params(data, "organizations")
    counts = _count_by(call, Dataset.agency_id)
    items = [organization_dict(agency, call.base_url, counts.get(agency.id, 0)) for agency in _agencies(call) if agency.valid_to is None]
    if wanted:
        items = [d for d in items if d["name"] in wanted]
    items = _sort_named(items, sort)
    items = items[offset : offset + limit if limit is not None else None]
    if not as_bool(data, "include_dataset_count", True):
        for item in items:
            item.pop("package_count", None)
    return items if all_fields else [d["name"] for d in items]


def _find_agency(call: Call, ref: Any) -> Agency:
    ident = parse_uuid(ref)
    for agency in _agencies(call):
        if agency.id == ident or org_name(agency.code) == str(ref).lower() or agency.code == str(ref):
            return agency
    raise NotFound(Msg("Organization not found"))


def organization_show(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return one publishing agency (CKAN organization).

    :param id: its id or name (the agency code in lower case, e.g. ``lcu-stc``)
    :param include_datasets: add up to 10 of its datasets (optional, default false)
    """
    agency = _find_agency(call, require(data, "id"))
    count = call.session.scalar(select(func.count()).select_from(Dataset).where(Dataset.agency_id == agency.id, _visible(call.actor))) or 0
    out = organization_dict(agency, call.base_url, count)
    if as_bool(data, "include_datasets", False):
        ids = call.session.scalars(
            select(Dataset.id).where(Dataset.agency_id == agency.id, _visible(call.actor)).order_by(Dataset.name).limit(10)
        )
        out["packages"] = _package_dicts(call, list(ids))
    out["users"] = []
    out["extras"] = []
    return out


def group_list(call: Call, data: dict[str, Any]) -> list[Any]:
    """Return the topic groups: names, or dicts with ``all_fields=true``.

    :param all_fields: / :param sort: / :param limit: / :param offset: / :param groups:
        as ``organization_list``
    """
    all_fields, limit, offset, sort, wanted = _list_params(data, "groups")
    counts = _count_by(call, DatasetGroup.group_id, (DatasetGroup, DatasetGroup.dataset_id == Dataset.id))
    groups = call.session.scalars(select(Group).order_by(Group.position, Group.name))
    items = [group_dict(g, counts.get(g.id, 0)) for g in groups]
    if wanted:
        items = [d for d in items if d["name"] in wanted]
    items = _sort_named(items, sort)
    items = items[offset : offset + limit if limit is not None else None]
    return items if all_fields else [d["name"] for d in items]


def group_show(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return one topic group.

    :param id: its id or name
    :param include_datasets: add up to 10 of its datasets (optional, default false)
    """
    ref = require(data, "id")
    ident = parse_uuid(ref)
    group = call.session.scalar(select(Group).where(Group.id == ident if ident else Group.name == str(ref)))
    if group is None:
        raise NotFound(Msg("Group not found"))
    in_group = select(DatasetGroup.dataset_id).where(DatasetGroup.group_id == group.id)
    visible_in_group = select(Dataset.id).where(Dataset.id.in_(in_group), _visible(call.actor))
    count = call.session.scalar(select(func.count()).select_from(visible_in_group.subquery())) or 0
    out = group_dict(group, count)
    if as_bool(data, "include_datasets", False):
        ids = call.session.scalars(visible_in_group.order_by(Dataset.name).limit(10))
        out["packages"] = _package_dicts(call, list(ids))
    out["users"] = []
    out["extras"] = []
    return out


def tag_list(call: Call, data: dict[str, Any]) -> list[Any]:
    """Return the tags of public datasets: names, or dicts with ``all_fields=true``.

    :param query: only tags containing this text (diacritics and case ignored)
    :param all_fields: return dicts (optional, default false)
    """
    query = fold(as_str(data, "query", ""))
    used = select(DatasetTag.tag_id).join(Dataset, Dataset.id == DatasetTag.dataset_id).where(_visible(call.actor))
    stmt = select(Tag).where(Tag.id.in_(used)).order_by(Tag.name)
    if query:
        stmt = stmt.where(Tag.folded.contains(query, autoescape=True))
    tags = list(call.session.scalars(stmt))
    if as_bool(data, "all_fields", False):
        return [tag_dict(t) for t in tags]
    return [t.name for t in tags]


def license_list(call: Call, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the licences a dataset can carry (``id`` is CKAN's ``license_id``)."""
    return [license_dict(lic, call.lang) for lic in list_licenses(call.session)]


# ----------------------------------------------------------------------- batches


def _package_dicts(call: Call, ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    return package_dicts(call.session, ids, base_url=call.base_url, lang=call.lang)


#: The statements of ``package_dicts``, built once: they read only the columns that
#: ``ckan_schemas``' dict builders use, as plain rows, in three queries, and reusing the
#: same statement objects skips SQLAlchemy's per-call construction and result
#: adaptation; for a page of ten datasets that had cost more than the search itself.
_IDS = bindparam("ids", expanding=True)
#: Each dataset with its agency and licence, in one query (the agency's and licence's
#: columns labelled ``org_*`` / ``licence_*``).
_AGENCY_COLUMNS = ("id", "code", "name_vi", "name_en", "history_note", "created_at", "valid_to")
_LICENCE_COLUMNS = ("title_vi", "title_en", "url", "is_open")
_DATASETS = (
    select(
        Dataset.id, Dataset.name, Dataset.title, Dataset.title_en, Dataset.notes, Dataset.agency_id, Dataset.license_id,
        Dataset.attribution, Dataset.update_frequency, Dataset.temporal_from, Dataset.temporal_to, Dataset.spatial,
        Dataset.spatial_label, Dataset.contact_name, Dataset.contact_email, Dataset.private, Dataset.state, Dataset.version,
        Dataset.metadata_created, Dataset.metadata_modified, Dataset.creator_user_id,
        *(getattr(Agency, c).label(f"org_{c}") for c in _AGENCY_COLUMNS),
        *(getattr(License, c).label(f"licence_{c}") for c in _LICENCE_COLUMNS),
    )
    .join(Agency, Agency.id == Dataset.agency_id, isouter=True)
    .join(License, License.id == Dataset.license_id, isouter=True)
    .where(Dataset.id.in_(_IDS))
)
#: The datasets' topics and tags in one query (``is_tag`` tells them apart; a tag has no
#: title, description, image or date).
_GROUPS_AND_TAGS = union_all(
    select(DatasetGroup.dataset_id, literal(False).label("is_tag"), Group.id, Group.name, Group.title_vi, Group.title_en,
           Group.description, Group.image_url, Group.created_at)
    .join(Group, Group.id == DatasetGroup.group_id).where(DatasetGroup.dataset_id.in_(_IDS)),
    select(DatasetTag.dataset_id, literal(True), Tag.id, Tag.name, cast(null(), String), cast(null(), String),
           cast(null(), Text), cast(null(), String), cast(null(), UTCDateTime))
    .join(Tag, Tag.id == DatasetTag.tag_id).where(DatasetTag.dataset_id.in_(_IDS)),
)
_RESOURCES = select(
    Resource.id, Resource.dataset_id, Resource.url_type, Resource.url, Resource.name, Resource.description, Resource.format,
    Resource.mimetype, Resource.size, Resource.hash, Resource.position, Resource.created, Resource.last_modified,
    Resource.datastore_active,
).where(Resource.dataset_id.in_(_IDS))


def _joined(row: Any, prefix: str, columns: tuple[str, ...]) -> SimpleNamespace:
    """The agency or licence part of a ``_DATASETS`` row, under its own column names."""
    return SimpleNamespace(**{c: getattr(row, f"{prefix}_{c}") for c in columns})


def package_dicts(session: Session, ids: list[uuid.UUID], *, base_url: str, lang: str = "vi") -> list[dict[str, Any]]:
    """CKAN dicts for ``ids``, in that order, with one query per related kind (CKAN
    #2692: never one query per row)."""
    if not ids:
        return []
    session.flush()  # plain reads on the connection do not flush the session themselves
    connection = session.connection()
    datasets = {d.id: d for d in connection.execute(_DATASETS, {"ids": ids})}
    tags: dict[uuid.UUID, list[Any]] = {}
    groups: dict[uuid.UUID, list[Any]] = {}
    for row in connection.execute(_GROUPS_AND_TAGS, {"ids": ids}):
        (tags if row.is_tag else groups).setdefault(row.dataset_id, []).append(row)
    resources: dict[uuid.UUID, list[Any]] = {}
    for resource in connection.execute(_RESOURCES, {"ids": ids}):
        resources.setdefault(resource.dataset_id, []).append(resource)
    out = []
    for ident in ids:
        dataset = datasets.get(ident)
        if dataset is None:
            continue
        out.append(
            package_dict(
                dataset,
                agency=_joined(dataset, "org", _AGENCY_COLUMNS) if dataset.org_code is not None else None,
                lic=_joined(dataset, "licence", _LICENCE_COLUMNS) if dataset.licence_title_vi is not None else None,
                tags=tags.get(ident, []),
                groups=groups.get(ident, []),
                resources=resources.get(ident, []),
                base_url=base_url,
                lang=lang,
            )
        )
    return out


# ======================================================================= package_search


def package_search(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Search datasets (CKAN's ``package_search``).

    :param q: words to search for (diacritics and case ignored), or ``field:value`` terms
    :param fq: filter, e.g. ``organization:lcu-stc tags:"giáo dục"
        metadata_modified:[2026-01-01T00:00:00Z TO *]``; ``fq_list`` takes a list
    :param sort: e.g. ``metadata_modified desc``, ``id asc``, ``name asc``,
        ``score desc, metadata_modified desc`` (default)
    :param rows: results per page, at most 1000 (default 10); :param start: offset
    :param facet.field: JSON list of ``organization``, ``groups``, ``tags``,
        ``res_format``, ``license_id``; :param facet.limit: (default 50, -1 = all);
        :param facet.mincount: (default 1)
    :param include_private: also the caller's private datasets (default false)
    :param include_drafts: also the caller's drafts (default false)
    """
    found = ckan_search.run(call.session, call.actor, data)
    return ckan_search.response(found, _package_dicts(call, found.result.ids))


# ======================================================================= writes
#
# Writes call the open-data service, which checks permissions, validates, records the
# audit trail and the version history. CKAN's keys are mapped to ours here.

#: CKAN package keys -> our dataset fields.
_PACKAGE_KEYS = {
    "name": "name", "title": "title", "notes": "notes", "license_id": "license_id", "version": "version",
    "owner_org": "agency", "maintainer": "contact_name", "maintainer_email": "contact_email",
    "tags": "tags", "groups": "groups",
}
#: Our fields a client may also send as top-level keys or ``extras``.
_OUR_KEYS = frozenset(opendata_service.FIELDS) - {"agency"}


def _dataset_input(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    extras = data.get("extras") or []
    if isinstance(extras, str):
        extras = json.loads(extras) if extras.strip().startswith("[") else []
    for extra in extras if isinstance(extras, list) else []:
        if isinstance(extra, Mapping) and extra.get("key") in _OUR_KEYS:
            values[str(extra["key"])] = extra.get("value")
    for key in _OUR_KEYS:
        if key in data:
            values[key] = data[key]
    for ckan_key, ours in _PACKAGE_KEYS.items():
        if ckan_key in data:
            values[ours] = data[ckan_key]
    for key in ("tags", "groups"):
        if isinstance(values.get(key), str) and values[key].strip().startswith("["):
            values[key] = json.loads(values[key])
    return values


def _wants_private(data: dict[str, Any]) -> bool | None:
    if "private" not in data or data["private"] is None:
        return None
    return as_bool(data, "private", True)


def _apply_visibility(call: Call, dataset: Dataset, data: dict[str, Any]) -> None:
    """CKAN's ``private`` flag through our publication gate: ``false`` publishes (an
    approver's or administrator's right, refused while a blocker stands), ``true``
    takes the dataset back from the public."""
    wanted = _wants_private(data)
    if wanted is False and not opendata_service.is_public(dataset):
        try:
            opendata_service.publish(call.session, call.actor, dataset.id)
        except Conflict as error:
            reasons = [Msg("{reason}", reason=r["message"]) for r in error.extra.get("reasons", [])] if call.lang == "vi" else [
                Msg("{reason}", reason=r) for r in error.extra.get("reasons_en", [])
            ]
            raise Invalid(error.message, fields={"private": reasons or [error.message]}) from None
    elif wanted is True and opendata_service.is_public(dataset):
        opendata_service.make_private(call.session, call.actor, dataset.id)


def _resource_input(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("name", "description", "format", "url") if k in data and data[k] is not None}


def _sync_resources(call: Call, dataset: Dataset, wanted: Any) -> None:
    """``resources`` in package_create/update: links are added, listed ids updated and,
    on update, resources not listed deleted (as CKAN does)."""
    if isinstance(wanted, str):
        wanted = json.loads(wanted)
    if not isinstance(wanted, list):
        raise Invalid(fields={"resources": [Msg("Must be a list")]})
    keep = set()
    for item in wanted:
        if not isinstance(item, Mapping):
            raise Invalid(fields={"resources": [Msg("Must be a list")]})
        ident = parse_uuid(item.get("id"))
        if ident is not None and any(r.id == ident for r in dataset.resources):
            opendata_resources.update_resource(call.session, call.actor, ident, _resource_input(item), settings=call.settings)
            keep.add(ident)
        else:
            created = opendata_resources.add_resource(call.session, call.actor, dataset.id, _resource_input(item), settings=call.settings)
            keep.add(created.id)
    for resource in list(dataset.resources):
        if resource.id not in keep:
            opendata_resources.delete_resource(call.session, call.actor, resource.id, settings=call.settings)


def _show(call: Call, dataset: Dataset) -> dict[str, Any]:
    call.session.flush()
    return _package_dicts(call, [dataset.id])[0]


def package_create(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Create a dataset. New datasets are private drafts of the caller's agency unless
    ``private: false`` is sent by someone allowed to publish (the publication gate then
    applies: a source database from the catalog, an open licence, resources checked for
    personal data).

    :param name: the URL name (optional; made from the title, Vietnamese transliterated)
    :param title: / :param notes: (Markdown) / :param license_id: / :param version:
    :param owner_org: the publishing agency (organization name, e.g. ``lcu-stc``, or id)
    :param tags: list of ``{"name": ...}`` / :param groups: list of ``{"name": ...}``
    :param extras: ``[{"key", "value"}]`` for ``title_en``, ``update_frequency``,
        ``temporal_from``, ``temporal_to``, ``spatial``, ``spatial_label``,
        ``source_database``, ``attribution``, ``contact_name``, ``contact_email``
    :param resources: links to add (optional)
    :param private: ``false`` to publish at once (optional)
    """
    dataset = opendata_service.create_dataset(call.session, call.actor, _dataset_input(data))
    if data.get("resources"):
        _sync_resources(call, dataset, data["resources"])
    _apply_visibility(call, dataset, data)
    return _show(call, dataset)


def _update(call: Call, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    ref = data.get("id") or data.get("name")
    if not ref:
        raise Invalid(fields={"id": [Msg("Missing value")]})
    found = _get_dataset(call, ref)
    values = _dataset_input(data)
    if data.get("id") and "name" in values and values["name"] == str(data.get("id")):
        values.pop("name")
    dataset = opendata_service.update_dataset(call.session, call.actor, found.id, values, partial=partial)
    if "resources" in data:
        _sync_resources(call, dataset, data["resources"] or [])
    _apply_visibility(call, dataset, data)
    return _show(call, dataset)


def package_update(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Replace a dataset's metadata (fields not sent are cleared, as in CKAN); the same
    keys as ``package_create``.

    :param id: the dataset's id or name
    """
    return _update(call, data, partial=False)


def package_patch(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Change only the given fields of a dataset; the same keys as ``package_create``.

    :param id: the dataset's id or name
    """
    return _update(call, data, partial=True)


def package_delete(call: Call, data: dict[str, Any]) -> None:
    """Delete a dataset (kept with ``state = deleted``, gone from every public list).

    :param id: the dataset's id or name
    """
    found = _get_dataset(call, require(data, "id"))
    opendata_service.delete_dataset(call.session, call.actor, found.id)


def _upload(call: Call) -> opendata_resources.Upload | None:
    file = call.files.get("upload")
    if file is None or not file.filename:
        return None
    return opendata_resources.Upload(filename=file.filename, stream=file.file)


def _resource_result(call: Call, resource: Resource) -> dict[str, Any]:
    call.session.flush()
    dataset = call.session.get(Dataset, resource.dataset_id)
    assert dataset is not None
    return resource_dict(resource, dataset.name, call.base_url)


def resource_create(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Add a resource to a dataset: a file sent as multipart field ``upload`` (tabular
    files are loaded into the datastore in the background; ``datastore_active`` turns
    true when done) or a link in ``url``.

    :param package_id: the dataset's id or name
    :param name: / :param description: / :param format: / :param url:
    """
    found = _get_dataset(call, require(data, "package_id"))
    resource = opendata_resources.add_resource(
        call.session, call.actor, found.id, _resource_input(data), settings=call.settings, upload=_upload(call)
    )
    return _resource_result(call, resource)


def resource_update(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Change a resource's metadata, or replace its file (multipart field ``upload``);
    the previous data stays served until the new version is loaded.

    :param id: the resource's id
    """
    resource = _get_resource(call, require(data, "id"))
    updated = opendata_resources.update_resource(
        call.session, call.actor, resource.id, _resource_input(data), settings=call.settings, upload=_upload(call)
    )
    return _resource_result(call, updated)


def resource_delete(call: Call, data: dict[str, Any]) -> None:
    """Delete a resource and its stored data.

    :param id: the resource's id
    """
    resource = _get_resource(call, require(data, "id"))
    opendata_resources.delete_resource(call.session, call.actor, resource.id, settings=call.settings)


# ======================================================================= datastore


def _served_resource(call: Call, ref: Any) -> tuple[Resource, Path]:
    resource = opendata_resources.get_resource(call.session, call.actor, str(ref))
    opendata_resources.refresh(call.session, resource, call.settings)
    call.session.commit()  # the ingest outcome, learnt on this read
    version = opendata_resources.current_data(call.settings, resource)
    if version is None:
        raise NotFound(Msg("Resource \"{id}\" was not found in the datastore.", id=str(ref)[:60]))
    return resource, version.parquet_path


def _json_param(data: Mapping[str, Any], name: str) -> Any:
    value = data.get(name)
    if isinstance(value, str) and value.strip()[:1] in {"{", "["}:
        try:
            return json.loads(value)
        except ValueError:
            raise ParamError(name, Msg("Not a JSON value")) from None
    return value


def datastore_search(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Search a resource's rows in the datastore.

    :param resource_id: the resource's id (``id`` is accepted too)
    :param filters: ``{"field": value or [values]}`` (JSON string on GET)
    :param q: full text (diacritics and case ignored), or ``{"field": "text"}``
    :param fields: fields to return (list or comma-separated)
    :param sort: ``"field1, field2 desc"``
    :param limit: rows, at most 32000 (default 100); :param offset:
    :param include_total: count the matching rows (default true)
    :param total_estimation_threshold: estimate counts above this many rows
    :param records_format: ``objects`` (default), ``lists``, ``csv`` or ``tsv``
    :param distinct: only distinct rows (default false)
    """
    ref = data.get("resource_id") or data.get("id")
    if not ref:
        raise Invalid(fields={"resource_id": [Msg("Missing value")]})
    resource, path = _served_resource(call, ref)
    filters = _json_param(data, "filters")
    if filters is not None and not isinstance(filters, dict):
        raise ParamError("filters", Msg("Not a JSON object"))
    q = _json_param(data, "q")
    fields = _json_param(data, "fields")
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    records_format = as_str(data, "records_format", "objects")
    if records_format not in datastore_query.RECORDS_FORMATS:
        raise ParamError("records_format", Msg("Value must be one of: {allowed}", allowed=", ".join(datastore_query.RECORDS_FORMATS)))
    limit = as_int(data, "limit", datastore_query.DEFAULT_LIMIT, maximum=datastore_query.MAX_LIMIT, clamp=True)
    return datastore_query.search(
        path,
        filters=filters,
        q=q or None,
        fields=fields or None,
        sort=_json_param(data, "sort") or None,
        limit=limit,
        offset=as_int(data, "offset", 0) or 0,
        include_total=as_bool(data, "include_total", True),
        total_estimation_threshold=as_int(data, "total_estimation_threshold", None),
        records_format=records_format,
        distinct=as_bool(data, "distinct", False),
        links_base=f"/api/3/action/datastore_search?resource_id={resource.id}",
        resource_id=str(resource.id),
        dictionary=opendata_resources.dictionary(call.settings, resource),
    )


_UUID_IN_SQL = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def datastore_search_sql(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Run one read-only SELECT over datastore resources, named by their ids in double
    quotes (``SELECT * FROM "<resource id>" WHERE ...``). Anything else (writes, several
    statements, files, settings, other tables) is refused; the query is stopped after a
    time limit and at most 32000 rows come back.

    :param sql: the query
    """
    sql = str(require(data, "sql"))
    tables: dict[str, Path] = {}
    for ident in dict.fromkeys(m.lower() for m in _UUID_IN_SQL.findall(sql)):
        try:
            _, path = _served_resource(call, ident)
        except NotFound:
            continue  # refused by the SQL check as an unknown table
        tables[ident] = path
    return datastore_query.search_sql(sql, tables=tables)


def datastore_info(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Return a datastore resource's fields (with the data dictionary) and row count.

    :param id: the resource's id (``resource_id`` is accepted too)
    """
    ref = data.get("id") or data.get("resource_id")
    if not ref:
        raise Invalid(fields={"id": [Msg("Missing value")]})
    resource, path = _served_resource(call, ref)
    return datastore_query.info(path, resource_id=str(resource.id), dictionary=opendata_resources.dictionary(call.settings, resource))


# ======================================================================= registry


def registry() -> dict[str, Action]:
    """Every action the facade answers, explicitly (no implicit exposure, STYLE.md)."""
    reads = {
        "status_show": status_show,
        "help_show": help_show,
        "site_read": site_read,
        "package_list": package_list,
        "current_package_list_with_resources": current_package_list_with_resources,
        "package_search": package_search,
        "package_show": package_show,
        "resource_show": resource_show,
        "organization_list": organization_list,
        "organization_show": organization_show,
        "group_list": group_list,
        "group_show": group_show,
        "tag_list": tag_list,
        "license_list": license_list,
        "datastore_search": datastore_search,
        "datastore_search_sql": datastore_search_sql,
        "datastore_info": datastore_info,
    }
    writes = {
        "package_create": package_create,
        "package_update": package_update,
        "package_patch": package_patch,
        "package_delete": package_delete,
        "resource_create": resource_create,
        "resource_update": resource_update,
        "resource_delete": resource_delete,
    }
    actions = {name: Action(fn, True) for name, fn in reads.items()}
    actions.update({name: Action(fn, False) for name, fn in writes.items()})
    return actions


ACTIONS = registry()


def help_text(name: str) -> str | None:
    action = ACTIONS.get(name)
    if action is None:
        return None
    return inspect.getdoc(action.function) or ""
