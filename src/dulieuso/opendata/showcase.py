# SPDX-License-Identifier: AGPL-3.0-or-later
"""The reuse showcase: applications, articles and visualisations built on open datasets
(uData's "reuses"). Any registered person adds one; it is shown at once and hidden only
by moderation after an abuse report."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, require
from dulieuso.errors import Invalid
from dulieuso.i18n import Msg
from dulieuso.opendata.models import Dataset
from dulieuso.opendata.requests import clean, display_name, participant, public_dataset
from dulieuso.opendata.voice_events import VoiceEvent
from dulieuso.opendata.voice_models import Showcase, ShowcaseDataset, ShowcaseKind
from dulieuso.opendata.voice_permissions import VoiceAction

KIND_LABELS: dict[ShowcaseKind, Msg] = {
    ShowcaseKind.APPLICATION: Msg("Application"),
    ShowcaseKind.ARTICLE: Msg("Article or news"),
    ShowcaseKind.VISUALIZATION: Msg("Visualisation"),
    ShowcaseKind.API: Msg("API"),
    ShowcaseKind.PAPER: Msg("Research paper"),
    ShowcaseKind.OTHER: Msg("Other"),
}


@dataclass
class ShowcaseInput:
    title: str
    kind: str
    url: str
    description: str = ""
    datasets: Sequence[str] = field(default_factory=list)  # ids or slugs


def _valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and " " not in value


def submit(session: Session, actor: Actor, data: ShowcaseInput) -> Showcase:
    """Add a reuse of one or more public datasets."""
    user_id = participant(actor, VoiceAction.SHOWCASE_SUBMIT)
    errors: dict[str, list[Msg]] = {}
    title = clean(data.title, 300)
    url = clean(data.url, 1000)
    if len(title) < 3:
        errors["title"] = [Msg("This field is required.")]
    try:
        kind = ShowcaseKind(data.kind)
    except ValueError:
        errors["kind"] = [Msg("Choose a category.")]
    if not _valid_url(url):
        errors["url"] = [Msg("Enter a web address starting with http:// or https://.")]
    datasets: list[Dataset] = []
    unknown: list[str] = []
    for ref in dict.fromkeys(r.strip() for r in data.datasets if r and r.strip()):
        found = public_dataset(session, ref)
        if found is None:
            unknown.append(ref)
        else:
            datasets.append(found)
    if unknown:
        errors["datasets"] = [Msg("Not a public dataset: {names}", names=", ".join(unknown))]
    elif not datasets:
        errors["datasets"] = [Msg("Name at least one public dataset it uses.")]
    if errors:
        raise Invalid(fields=errors)
    showcase = Showcase(
        title=title, kind=kind, url=url, description=clean(data.description, 4000),
        author_id=user_id, author_name=display_name(session, actor),
    )
    session.add(showcase)
    session.flush()
    for dataset in datasets:
        session.add(ShowcaseDataset(showcase_id=showcase.id, dataset_id=dataset.id))
    record(session, actor, VoiceEvent.SHOWCASE_CREATE, showcase, after=snapshot(showcase), label=title,
           details={"datasets": [d.name for d in datasets]})
    return showcase


def list_showcases(
    session: Session, actor: Actor, *, dataset: str = "", kind: str = "", limit: int = 50, offset: int = 0,
) -> tuple[list[Showcase], int]:
    """Visible reuses, newest first; optionally of one dataset (id or slug) or kind."""
    require(actor, VoiceAction.REQUEST_VIEW)
    if not 1 <= limit <= 200 or offset < 0:
        raise Invalid(fields={"limit": [Msg("limit must be between 1 and {max} and offset at least 0.", max=200)]})
    stmt = select(Showcase).where(Showcase.hidden.is_(False))
    if kind:
        if kind not in {k.value for k in ShowcaseKind}:
            raise Invalid(fields={"kind": [Msg("Unknown value {value}.", value=kind)]})
        stmt = stmt.where(Showcase.kind == kind)
    if dataset:
        found = public_dataset(session, dataset)
        stmt = stmt.where(Showcase.id.in_(
            select(ShowcaseDataset.showcase_id).where(ShowcaseDataset.dataset_id == (found.id if found else None))
        ))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Showcase.created_at.desc(), Showcase.id).limit(limit).offset(offset))
    return list(rows), total


def datasets_of(session: Session, showcases: Sequence[Showcase]) -> dict[uuid.UUID, list[tuple[str, str]]]:
    """``{showcase id: [(slug, title)]}`` of the public datasets each one uses."""
    out: dict[uuid.UUID, list[tuple[str, str]]] = {s.id: [] for s in showcases}
    if not out:
        return out
    rows = session.execute(
        select(ShowcaseDataset.showcase_id, Dataset.name, Dataset.title, Dataset.state, Dataset.private)
        .join(Dataset, Dataset.id == ShowcaseDataset.dataset_id)
        .where(ShowcaseDataset.showcase_id.in_(list(out)))
        .order_by(Dataset.title)
    )
    for showcase_id, name, title, state, private in rows:
        if state == "active" and not private:
            out[showcase_id].append((name, title))
    return out
