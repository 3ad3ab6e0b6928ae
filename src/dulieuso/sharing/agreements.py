# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sharing agreements for special-request sharing (Art. 36–39): the 12 headings of
Art. 38, the states of Art. 37, amendments as immutable versions (Art. 39), requests to
join (Art. 36(4)), and visibility limited to the parties and the IT unit (Art. 36(5))."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import diff as dict_diff
from dulieuso.audit.service import record, snapshot, to_jsonable
from dulieuso.auth.permissions import Actor, can
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.sharing.events import SharingTag
from dulieuso.sharing.models import (
    AgreementJoinRequest,
    AgreementParty,
    AgreementStatus,
    AgreementVersion,
    DataService,
    JoinStatus,
    PartyRole,
    SharingAgreement,
)
from dulieuso.sharing.permissions import SharingAction
from dulieuso.sharing.service import acting, it_unit_id, notify_agency, now, own_agency, require_fields, text

#: Art. 38 items 2–12 as columns, in order; item 1 is the list of parties.
HEADINGS: tuple[tuple[int, str], ...] = (
    (2, "data_content"),
    (3, "place_of_use"),
    (4, "duration"),
    (5, "method_and_manner"),
    (6, "post_receipt_processing"),
    (7, "conditions_limits"),
    (8, "protection_commitment"),
    (9, "security_measures"),
    (10, "retention_requirements"),
    (11, "deletion_method"),
    (12, "other_terms"),
)
TEXT_FIELDS = tuple(name for _, name in HEADINGS)

TRANSITIONS: dict[AgreementStatus, frozenset[AgreementStatus]] = {
    AgreementStatus.NEEDS_REVIEW: frozenset({AgreementStatus.DRAFTING, AgreementStatus.TERMINATED}),
    AgreementStatus.DRAFTING: frozenset(
        {AgreementStatus.NEEDS_REVIEW, AgreementStatus.SIGNED, AgreementStatus.TERMINATED}
    ),
    AgreementStatus.SIGNED: frozenset({AgreementStatus.ACTIVE, AgreementStatus.TERMINATED}),
    AgreementStatus.ACTIVE: frozenset({AgreementStatus.EXPIRED, AgreementStatus.TERMINATED}),
    AgreementStatus.EXPIRED: frozenset(),
    AgreementStatus.TERMINATED: frozenset(),
}


@dataclass
class AgreementInput:
    code: str
    title: str
    consumer_codes: list[str] = field(default_factory=list)
    provider_code: str | None = None
    service_code: str | None = None
    agency_code: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    data_content: str = ""
    place_of_use: str = ""
    duration: str = ""
    method_and_manner: str = ""
    post_receipt_processing: str = ""
    conditions_limits: str = ""
    protection_commitment: str = ""
    security_measures: str = ""
    retention_requirements: str = ""
    deletion_method: str = ""
    other_terms: str = ""


def _agency(session: Session, code: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.code == code))


def party_ids(agreement: SharingAgreement) -> set[uuid.UUID]:
    return {p.agency_id for p in agreement.parties}


def _can_view(session: Session, actor: Actor, agreement: SharingAgreement) -> bool:
    if can(actor, SharingAction.AGREEMENT_VIEW, None):
        return True
    if actor.agency_id in party_ids(agreement) and can(actor, SharingAction.AGREEMENT_VIEW, actor.agency_id):
        return True
    return can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session))


def get_agreement(session: Session, actor: Actor, agreement_id: uuid.UUID) -> SharingAgreement:
    """An agreement, for its parties, the IT unit and administrators; 404 for anyone else."""
    agreement = session.get(SharingAgreement, agreement_id)
    if agreement is None or not _can_view(session, actor, agreement):
        raise NotFound(Msg("Agreement not found."), code="agreement_not_found")
    return agreement


def _as_party(actor: Actor, agreement: SharingAgreement, action: SharingAction) -> Actor:
    """The actor acting as one of the parties (administrators act for the creator)."""
    if actor.agency_id in party_ids(agreement):
        return acting(actor, action, actor.agency_id)
    return acting(actor, action, agreement.created_by_agency_id)


def list_agreements(session: Session, actor: Actor) -> list[SharingAgreement]:
    stmt = select(SharingAgreement).order_by(SharingAgreement.created_at.desc())
    if can(actor, SharingAction.AGREEMENT_VIEW, None) or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session)):
        return list(session.scalars(stmt))
    if actor.agency_id is None or not can(actor, SharingAction.AGREEMENT_VIEW, actor.agency_id):
        return []
    stmt = stmt.join(AgreementParty, AgreementParty.agreement_id == SharingAgreement.id).where(
        AgreementParty.agency_id == actor.agency_id
    )
    return list(session.scalars(stmt))


def _content(agreement: SharingAgreement) -> dict[str, Any]:
    data: dict[str, Any] = {name: getattr(agreement, name) for name in TEXT_FIELDS}
    data["title"] = agreement.title
    data["valid_from"] = agreement.valid_from
    data["valid_to"] = agreement.valid_to
    data["parties"] = sorted(
        ({"agency_id": str(p.agency_id), "role": p.role.value} for p in agreement.parties),
        key=lambda p: (p["role"], p["agency_id"]),
    )
    return to_jsonable(data)  # type: ignore[no-any-return]


def missing_items(agreement: SharingAgreement) -> dict[str, list[Msg]]:
    """Art. 38 items 1–11 that are empty (item 12, other matters, is optional)."""
    errors: dict[str, list[Msg]] = {}
    roles = {p.role for p in agreement.parties}
    if PartyRole.PROVIDER not in roles or PartyRole.CONSUMER not in roles:
        errors["parties"] = [Msg("Item {n} is required before signing.", n=1)]
    for number, name in HEADINGS:
        if number == 12:
            continue
        if number == 4:
            if not (agreement.duration.strip() or agreement.valid_from):
                errors[name] = [Msg("Item {n} is required before signing.", n=number)]
            continue
        if not getattr(agreement, name).strip():
            errors[name] = [Msg("Item {n} is required before signing.", n=number)]
    return errors


def _apply_text(agreement: SharingAgreement, data: AgreementInput) -> dict[str, list[Msg]]:
    errors: dict[str, list[Msg]] = {}
    if data.valid_from and data.valid_to and data.valid_to < data.valid_from:
        errors["valid_to"] = [Msg("The end date is before the start date.")]
    agreement.title = text(data.title, 400) or agreement.title
    agreement.valid_from = data.valid_from
    agreement.valid_to = data.valid_to
    for name in TEXT_FIELDS:
        setattr(agreement, name, text(getattr(data, name)))
    return errors


def create_agreement(session: Session, actor: Actor, data: AgreementInput) -> SharingAgreement:
    """Start an agreement (state ``needs_review``) between a provider and consumers."""
    agency = own_agency(session, actor, data.agency_code)
    actor = acting(actor, SharingAction.AGREEMENT_MANAGE, agency.id)
    errors = require_fields(vars(data), ["code", "title", "consumer_codes"])
    service = None
    if data.service_code:
        service = session.scalar(select(DataService).where(DataService.code == data.service_code))
        if service is None:
            errors["service_code"] = [Msg("Unknown data service.")]
    provider_id = service.provider_agency_id if service else None
    if data.provider_code:
        provider = _agency(session, data.provider_code)
        if provider is None:
            errors["provider_code"] = [Msg("Unknown agency code.")]
        else:
            provider_id = provider.id
    if provider_id is None and "service_code" not in errors and "provider_code" not in errors:
        errors["provider_code"] = [Msg("Name the providing agency or the service.")]
    consumers = []
    for code in data.consumer_codes:
        consumer = _agency(session, code)
        if consumer is None:
            errors["consumer_codes"] = [Msg("Unknown agency code.")]
        else:
            consumers.append(consumer)
    if session.scalar(select(SharingAgreement.id).where(SharingAgreement.code == data.code.strip())):
        errors["code"] = [Msg("Already used.")]
    if errors:
        raise Invalid(fields=errors)
    assert provider_id is not None
    if agency.id != provider_id and agency.id not in {c.id for c in consumers}:
        raise Invalid(fields={"agency_code": [Msg("Your agency must be one of the parties.")]})
    agreement = SharingAgreement(
        code=text(data.code, 60),
        title=text(data.title, 400),
        service_id=service.id if service else None,
        status=AgreementStatus.NEEDS_REVIEW,
        created_by_agency_id=agency.id,
    )
    errors = _apply_text(agreement, data)
    if errors:
        raise Invalid(fields=errors)
    agreement.parties = [AgreementParty(agency_id=provider_id, role=PartyRole.PROVIDER)] + [
        AgreementParty(agency_id=c.id, role=PartyRole.CONSUMER) for c in consumers if c.id != provider_id
    ]
    session.add(agreement)
    record(session, actor, SharingTag.AGREEMENT_CREATE, agreement, after=_content(agreement), label=agreement.code)
    return agreement


def update_agreement(session: Session, actor: Actor, agreement_id: uuid.UUID, data: AgreementInput) -> SharingAgreement:
    """Edit the text while it is reviewed or drafted; after signing, use ``amend``."""
    agreement = get_agreement(session, actor, agreement_id)
    actor = _as_party(actor, agreement, SharingAction.AGREEMENT_MANAGE)
    if agreement.status not in (AgreementStatus.NEEDS_REVIEW, AgreementStatus.DRAFTING):
        raise Conflict(Msg("A signed agreement changes only by amendment."), code="agreement_signed")
    before = _content(agreement)
    errors = _apply_text(agreement, data)
    if errors:
        raise Invalid(fields=errors)
    record(session, actor, SharingTag.AGREEMENT_UPDATE, agreement, before=before, after=_content(agreement), label=agreement.code)
    return agreement


def transition(session: Session, actor: Actor, agreement_id: uuid.UUID, to: AgreementStatus) -> SharingAgreement:
    """Move an agreement along Art. 37; signing goes through ``sign``."""
    agreement = get_agreement(session, actor, agreement_id)
    if to is AgreementStatus.SIGNED:
        return sign(session, actor, agreement_id)
    decisions = (AgreementStatus.ACTIVE, AgreementStatus.EXPIRED, AgreementStatus.TERMINATED)
    action = SharingAction.AGREEMENT_SIGN if to in decisions else SharingAction.AGREEMENT_MANAGE
    actor = _as_party(actor, agreement, action)
    _check_transition(agreement, to)
    before = snapshot(agreement)
    agreement.status = to
    moment = now()
    if to is AgreementStatus.ACTIVE:
        agreement.activated_at = moment
    if to in (AgreementStatus.EXPIRED, AgreementStatus.TERMINATED):
        agreement.ended_at = moment
    record(session, actor, SharingTag.AGREEMENT_TRANSITION, agreement, before=before, after=snapshot(agreement),
           label=agreement.code)
    return agreement


def expire_ended(session: Session, actor: Actor, at: datetime) -> int:
    """Active agreements past their end date expire; the providers are told which grants
    rest on them, so they can terminate them (Art. 44(1)(d))."""
    from dulieuso.policy.service import local_date
    from dulieuso.sharing.models import Grant, GrantStatus

    ended = session.scalars(
        select(SharingAgreement).where(
            SharingAgreement.status == AgreementStatus.ACTIVE, SharingAgreement.valid_to < local_date(at)
        )
    ).all()
    for agreement in ended:
        before = snapshot(agreement)
        agreement.status = AgreementStatus.EXPIRED
        agreement.ended_at = at
        record(session, actor, SharingTag.AGREEMENT_TRANSITION, agreement, before=before, after=snapshot(agreement),
               label=agreement.code, details={"reason": "valid_to passed"})
        live = session.scalar(
            select(func.count()).select_from(Grant).where(Grant.agreement_id == agreement.id, Grant.status != GrantStatus.TERMINATED)
        ) or 0
        for party in agreement.parties:
            notify_agency(
                session, party.agency_id, kind="sharing:agreement:expired",
                title=Msg("Agreement {code} has expired", code=agreement.code),
                body=Msg("{n} grants rest on it; the provider should terminate them (Decree 47 Art. 44(1)(d)).", n=live),
                link=f"/sharing/agreements/{agreement.id}",
            )
    return len(ended)


def _check_transition(agreement: SharingAgreement, to: AgreementStatus) -> None:
    if to not in TRANSITIONS[agreement.status]:
        raise Conflict(
            Msg("An agreement cannot go from {old} to {new}.", old=agreement.status.value, new=to.value),
            code="illegal_transition",
        )


def _new_version(session: Session, actor: Actor, agreement: SharingAgreement, note: str) -> AgreementVersion:
    previous = session.scalar(
        select(AgreementVersion).where(AgreementVersion.agreement_id == agreement.id).order_by(AgreementVersion.number.desc())
    )
    content = _content(agreement)
    version = AgreementVersion(
        agreement_id=agreement.id,
        number=(previous.number if previous else 0) + 1,
        created_by=actor.label,
        note=text(note),
        content=content,
        diff=dict_diff(previous.content if previous else {}, content),
    )
    session.add(version)
    agreement.version = version.number
    return version


def sign(session: Session, actor: Actor, agreement_id: uuid.UUID) -> SharingAgreement:
    """Confirm the drafted text (Art. 37(3)): items 1–11 must be filled; the text becomes v1."""
    agreement = get_agreement(session, actor, agreement_id)
    actor = _as_party(actor, agreement, SharingAction.AGREEMENT_SIGN)
    _check_transition(agreement, AgreementStatus.SIGNED)
    missing = missing_items(agreement)
    if missing:
        raise Invalid(Msg("Items 1 to 11 of the agreement must be filled in before signing."), fields=missing)
    before = snapshot(agreement)
    agreement.status = AgreementStatus.SIGNED
    agreement.signed_at = now()
    _new_version(session, actor, agreement, note="signed")
    record(session, actor, SharingTag.AGREEMENT_SIGN, agreement, before=before, after=snapshot(agreement), label=agreement.code)
    return agreement


def amend(session: Session, actor: Actor, agreement_id: uuid.UUID, data: AgreementInput, note: str) -> AgreementVersion:
    """Art. 39: a change to a signed agreement is written into it as a new version."""
    agreement = get_agreement(session, actor, agreement_id)
    actor = _as_party(actor, agreement, SharingAction.AGREEMENT_SIGN)
    if agreement.status not in (AgreementStatus.SIGNED, AgreementStatus.ACTIVE):
        raise Conflict(Msg("Only a signed or active agreement can be amended."), code="illegal_transition")
    if not note.strip():
        raise Invalid(fields={"note": [Msg("Say what the amendment changes.")]})
    before = _content(agreement)
    errors = _apply_text(agreement, data)
    errors.update(missing_items(agreement))
    if errors:
        raise Invalid(fields=errors)
    version = _new_version(session, actor, agreement, note)
    record(session, actor, SharingTag.AGREEMENT_AMEND, agreement, before=before, after=_content(agreement),
           label=agreement.code, details={"version": version.number})
    return version


def versions(session: Session, actor: Actor, agreement_id: uuid.UUID) -> list[AgreementVersion]:
    agreement = get_agreement(session, actor, agreement_id)
    return list(
        session.scalars(
            select(AgreementVersion).where(AgreementVersion.agreement_id == agreement.id).order_by(AgreementVersion.number)
        )
    )


def ask_to_join(
    session: Session, actor: Actor, agreement_id: uuid.UUID, reason: str, role: PartyRole = PartyRole.CONSUMER,
    agency_code: str | None = None,
) -> AgreementJoinRequest:
    """Art. 36(4): an agency that is not a party asks to join an agreement in force. The
    agreement's existence is public to agencies that know its code; its text is not."""
    agreement = session.get(SharingAgreement, agreement_id)
    if agreement is None:
        raise NotFound(Msg("Agreement not found."), code="agreement_not_found")
    agency = own_agency(session, actor, agency_code)
    actor = acting(actor, SharingAction.AGREEMENT_MANAGE, agency.id)
    if agency.id in party_ids(agreement):
        raise Conflict(Msg("Your agency is already a party."))
    if agreement.status not in (AgreementStatus.SIGNED, AgreementStatus.ACTIVE):
        raise Conflict(Msg("Only an agreement in force can be joined."))
    if not reason.strip():
        raise Invalid(fields={"reason": [Msg("This field is required.")]})
    join = AgreementJoinRequest(
        agreement_id=agreement.id, agency_id=agency.id, role=role, reason=text(reason), status=JoinStatus.PENDING
    )
    session.add(join)
    record(session, actor, SharingTag.AGREEMENT_JOIN_REQUEST, join, after=snapshot(join), label=agreement.code)
    for party in agreement.parties:
        if party.role is PartyRole.PROVIDER:
            notify_agency(
                session, party.agency_id, kind="sharing:agreement:join_request",
                title=Msg("{agency} asks to join agreement {code}", agency=agency.name_vi, code=agreement.code),
                body=Msg("Reason: {reason}", reason=join.reason), link=f"/sharing/agreements/{agreement.id}",
            )
    return join


def decide_join(session: Session, actor: Actor, join_id: uuid.UUID, accept: bool) -> AgreementJoinRequest:
    """A provider party accepts (an amendment adds the party) or refuses a join request."""
    join = session.get(AgreementJoinRequest, join_id)
    if join is None:
        raise NotFound(Msg("Not found."))
    agreement = get_agreement(session, actor, join.agreement_id)
    providers = [p.agency_id for p in agreement.parties if p.role is PartyRole.PROVIDER]
    actor = acting(actor, SharingAction.AGREEMENT_SIGN, actor.agency_id if actor.agency_id in providers else providers[0])
    if join.status is not JoinStatus.PENDING:
        raise Conflict(Msg("This request has already been decided."))
    before = snapshot(join)
    join.status = JoinStatus.ACCEPTED if accept else JoinStatus.REFUSED
    join.decided_at = now()
    join.decided_by = actor.label
    record(session, actor, SharingTag.AGREEMENT_JOIN_DECIDE, join, before=before, after=snapshot(join), label=agreement.code)
    if accept:
        agreement_before = _content(agreement)
        agreement.parties.append(AgreementParty(agency_id=join.agency_id, role=join.role))
        session.flush()
        version = _new_version(session, actor, agreement, note="party joined")
        record(session, actor, SharingTag.AGREEMENT_AMEND, agreement, before=agreement_before,
               after=_content(agreement), label=agreement.code, details={"version": version.number})
    notify_agency(
        session, join.agency_id, kind="sharing:agreement:join_decided",
        title=Msg("Your request to join agreement {code} was decided", code=agreement.code),
        body=Msg("Accepted.") if accept else Msg("Refused."), link=f"/sharing/agreements/{agreement.id}",
    )
    return join


def join_requests(session: Session, actor: Actor, agreement_id: uuid.UUID) -> list[AgreementJoinRequest]:
    agreement = get_agreement(session, actor, agreement_id)
    return list(
        session.scalars(
            select(AgreementJoinRequest).where(AgreementJoinRequest.agreement_id == agreement.id)
            .order_by(AgreementJoinRequest.created_at)
        )
    )


def agreement_view(session: Session, agreement: SharingAgreement) -> dict[str, Any]:
    """A plain dict for pages and the API."""
    from dulieuso.sharing.service import agency_names

    names = agency_names(session, [p.agency_id for p in agreement.parties])
    service = session.get(DataService, agreement.service_id) if agreement.service_id else None
    data: dict[str, Any] = {
        "id": agreement.id,
        "code": agreement.code,
        "title": agreement.title,
        "status": agreement.status.value,
        "version": agreement.version,
        "service_code": service.code if service else None,
        "parties": [
            {"agency_id": p.agency_id, "agency": names.get(p.agency_id), "role": p.role.value, "joined_at": p.joined_at}
            for p in agreement.parties
        ],
        "valid_from": agreement.valid_from,
        "valid_to": agreement.valid_to,
        "signed_at": agreement.signed_at,
        "activated_at": agreement.activated_at,
        "ended_at": agreement.ended_at,
        "next_states": sorted(s.value for s in TRANSITIONS[agreement.status]),
        "missing": sorted(missing_items(agreement)),
    }
    for name in TEXT_FIELDS:
        data[name] = getattr(agreement, name)
    return data
