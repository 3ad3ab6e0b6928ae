# SPDX-License-Identifier: AGPL-3.0-or-later
"""Connection requests (Art. 35): submitted online with the fields of Art. 35(2), due in
working days from the policy table (2 WD, Decree 194 Art. 40(3)); approval issues a grant
and a connection account; a refusal states its reason and legal basis (Decree 194
Art. 16(2)) and is copied to the IT unit (Art. 51(1)(a)).

A request also declares how the consumer keeps what it retrieves (Art. 42): not at all,
cached within the data's period of use (Art. 41), or stored beyond it. Only the last
needs the provider's permission, which the approver must give explicitly; the grant
records it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, can
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.policy.service import LOCAL_TZ, local_date, working_days_between
from dulieuso.sharing import consumers
from dulieuso.sharing.consumers import IssuedAccount
from dulieuso.sharing.events import SharingTag
from dulieuso.sharing.models import (
    AccountStatus,
    AgreementStatus,
    Application,
    ApplicationStatus,
    ConnectionAccount,
    ConnectionRequest,
    DataService,
    Grant,
    GrantStatus,
    PartyRole,
    RequestStatus,
    ServiceStatus,
    SharingAgreement,
    SharingForm,
    SharingMethod,
    StorageMode,
)
from dulieuso.sharing.permissions import SharingAction
from dulieuso.sharing.service import (
    MAX_LIMIT,
    acting,
    due_date,
    it_unit_id,
    notify_agency,
    notify_it_unit,
    now,
    own_agency,
    require_fields,
    text,
)
from dulieuso.sharing.services import response_fields

DEADLINE_KEY = "connection_account_deadline"
#: Longest storage a request may declare (about a century): a bound, not a legal number.
MAX_STORAGE_DAYS = 36_500


@dataclass
class RequestInput:
    service_code: str
    purpose: str
    frequency: str
    requested_fields: list[str] = field(default_factory=list)
    agency_code: str | None = None
    application_id: uuid.UUID | None = None
    use_after_retrieval: str = ""
    operations: list[str] | None = None
    other_info: str = ""
    requested_valid_to: date | None = None
    agreement_code: str | None = None
    #: Art. 42: how the retrieved data will be kept; days and reason only when beyond the period of use.
    storage_mode: StorageMode = StorageMode.NONE
    storage_days: int | None = None
    storage_reason: str = ""


@dataclass
class Decision:
    quota_per_minute: int | None = None
    quota_per_day: int | None = None
    valid_to: date | None = None
    agreement_code: str | None = None
    #: Art. 42(3): the provider permits the declared storage beyond the period of use.
    allow_storage: bool = False
    #: The last day stored data may be kept; None = the grant's end plus the declared days.
    storage_until: date | None = None
    storage_note: str = ""


@dataclass(frozen=True)
class Approval:
    request: ConnectionRequest
    grant: Grant
    issued: IssuedAccount | None


def _service(session: Session, code: str) -> DataService | None:
    return session.scalar(select(DataService).where(DataService.code == code))


def _agreement(session: Session, code: str | None) -> SharingAgreement | None:
    if not code:
        return None
    return session.scalar(select(SharingAgreement).where(SharingAgreement.code == code))


def period_of_use_hours(service: DataService) -> int | None:
    """Art. 41: how long data retrieved from ``service`` stays usable, from its usage
    regulation's period for the service's method; None when the regulation sets none
    (for an online query: valid on retrieval only)."""
    regulation = service.regulation
    if regulation is None:
        return None
    if service.method is SharingMethod.ONLINE_QUERY:
        return regulation.period_online_query_hours
    days = regulation.period_sync_days if service.method is SharingMethod.SYNC else regulation.period_package_days
    return days * 24 if days else None


def _storage_errors(data: RequestInput, service: DataService | None) -> dict[str, list[Msg]]:
    """Art. 42: storing beyond the period of use needs its length and a reason, and must
    really go beyond that period (else it is a cache and needs no permission)."""
    if data.storage_mode is not StorageMode.BEYOND_VALIDITY:
        return {}
    errors = require_fields({"storage_reason": data.storage_reason}, ["storage_reason"])
    days = data.storage_days
    if days is None:
        errors["storage_days"] = [Msg("This field is required.")]
    elif isinstance(days, bool) or not 1 <= days <= MAX_STORAGE_DAYS:
        errors["storage_days"] = [Msg("Enter a whole number of days between 1 and {max}.", max=MAX_STORAGE_DAYS)]
    elif service is not None:
        hours = period_of_use_hours(service)
        if hours is not None and days * 24 <= hours:
            errors["storage_days"] = [
                Msg("That is within the data's period of use ({hours} hours): declare it as a cache, "
                    "which needs no permission.", hours=hours)
            ]
    return errors


def submit(session: Session, actor: Actor, data: RequestInput, *, received_at: datetime | None = None) -> ConnectionRequest:
    """Submit a connection request for the actor's agency (or ``agency_code`` for admins)."""
    agency = own_agency(session, actor, data.agency_code)
    actor = acting(actor, SharingAction.REQUEST_SUBMIT, agency.id)
    errors = require_fields(vars(data), ["service_code", "purpose", "frequency", "requested_fields"])
    service = _service(session, data.service_code) if data.service_code else None
    if data.service_code and (service is None or service.status is not ServiceStatus.PUBLISHED):
        errors["service_code"] = [Msg("Choose a published service.")]
    if service is not None:
        known = response_fields(service)
        unknown = [f for f in data.requested_fields if known and f not in known]
        if unknown:
            errors["requested_fields"] = [Msg("Not in the service's response: {fields}", fields=", ".join(unknown))]
        op_names = {op["name"] for op in service.operations or []}
        bad_ops = [o for o in data.operations or [] if o not in op_names]
        if bad_ops:
            errors["operations"] = [Msg("Unknown operations: {names}", names=", ".join(bad_ops))]
    if data.application_id is not None:
        application = session.get(Application, data.application_id)
        if application is None or application.consumer_agency_id != agency.id or application.status is not ApplicationStatus.ACTIVE:
            errors["application_id"] = [Msg("Choose an active application of your agency.")]
    agreement = _agreement(session, data.agreement_code)
    if data.agreement_code and agreement is None:
        errors["agreement_code"] = [Msg("Unknown agreement.")]
    if data.requested_valid_to is not None and data.requested_valid_to < local_date(now()):
        errors["requested_valid_to"] = [Msg("The date is in the past.")]
    errors.update(_storage_errors(data, service))
    if errors:
        raise Invalid(fields=errors)
    assert service is not None
    beyond = data.storage_mode is StorageMode.BEYOND_VALIDITY
    received = received_at or now()
    request = ConnectionRequest(
        requesting_agency_id=agency.id,
        application_id=data.application_id,
        service_id=service.id,
        operations=list(data.operations) if data.operations else None,
        requested_fields=list(dict.fromkeys(data.requested_fields)),
        purpose=text(data.purpose),
        use_after_retrieval=text(data.use_after_retrieval),
        frequency=text(data.frequency, 200),
        other_info=text(data.other_info),
        requested_valid_to=data.requested_valid_to,
        received_at=received,
        due_on=due_date(session, DEADLINE_KEY, received),
        status=RequestStatus.SUBMITTED,
        submitted_by=actor.label,
        agreement_id=agreement.id if agreement else None,
        storage_mode=data.storage_mode,
        storage_days=data.storage_days if beyond else None,
        storage_reason=text(data.storage_reason) if beyond else "",
    )
    session.add(request)
    record(session, actor, SharingTag.REQUEST_SUBMIT, request, after=snapshot(request), label=service.code)
    notify_agency(
        session, service.provider_agency_id, kind="sharing:request:submitted",
        title=Msg("New connection request for {code}", code=service.code),
        body=Msg("From {agency}. Decide by {due}.", agency=agency.name_vi, due=request.due_on.strftime("%d/%m/%Y")),
        link=f"/sharing/requests/{request.id}",
    )
    return request


def _can_view(session: Session, actor: Actor, request: ConnectionRequest, service: DataService) -> bool:
    return (
        can(actor, SharingAction.REQUEST_VIEW, request.requesting_agency_id)
        or can(actor, SharingAction.REQUEST_VIEW, service.provider_agency_id)
        or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session))
    )


def get_request(session: Session, actor: Actor, request_id: uuid.UUID) -> ConnectionRequest:
    request = session.get(ConnectionRequest, request_id)
    service = session.get(DataService, request.service_id) if request else None
    if request is None or service is None or not _can_view(session, actor, request, service):
        raise NotFound(Msg("Connection request not found."), code="request_not_found")
    return request


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL_TZ)


def _active_agreement(agreement: SharingAgreement | None, provider_id: uuid.UUID, consumer_id: uuid.UUID) -> bool:
    if agreement is None or agreement.status is not AgreementStatus.ACTIVE:
        return False
    roles = {(p.agency_id, p.role) for p in agreement.parties}
    return (provider_id, PartyRole.PROVIDER) in roles and (consumer_id, PartyRole.CONSUMER) in roles


STORAGE_PERMISSION_REQUIRED = Msg(
    "This request declares storage beyond the data's period of use (Decree 47 Art. 42): approve it only by "
    "permitting that storage explicitly, or refuse it with the reason and the legal basis."
)


def _storage_decision_errors(request: ConnectionRequest, decision: Decision) -> dict[str, list[Msg]]:
    """The approver's answer to the storage the request declares (Art. 42(3))."""
    errors: dict[str, list[Msg]] = {}
    if request.storage_mode is StorageMode.BEYOND_VALIDITY:
        if not decision.allow_storage:
            errors["allow_storage"] = [Msg("Permit the storage beyond the period of use, or refuse the request.")]
    elif decision.allow_storage or decision.storage_until is not None:
        errors["allow_storage"] = [
            Msg("The request does not declare storage beyond the period of use: there is nothing to permit.")
        ]
    if decision.storage_until is not None and decision.storage_until < local_date(now()):
        errors["storage_until"] = [Msg("The date is in the past.")]
    return errors


def approve(session: Session, actor: Actor, request_id: uuid.UUID, decision: Decision | None = None) -> Approval:
    """Approve: a grant for the requested fields and operations, and a connection account
    (when the application has none active), then notify the requester.

    A request that declares storage beyond the data's period of use is approved only with
    ``decision.allow_storage`` (Art. 42(3)); without it the approval is refused with
    ``storage_permission_required`` and the approver permits or refuses the request."""
    decision = decision or Decision()
    request = get_request(session, actor, request_id)
    service = session.get(DataService, request.service_id)
    assert service is not None
    actor = acting(actor, SharingAction.REQUEST_DECIDE, service.provider_agency_id)
    if request.status is not RequestStatus.SUBMITTED:
        raise Conflict(Msg("This request has already been decided or withdrawn."))
    errors: dict[str, list[Msg]] = {}
    for name in ("quota_per_minute", "quota_per_day"):
        value = getattr(decision, name)
        if value is not None and value <= 0:
            errors[name] = [Msg("Enter a whole number greater than 0.")]
    agreement = _agreement(session, decision.agreement_code) if decision.agreement_code else (
        session.get(SharingAgreement, request.agreement_id) if request.agreement_id else None
    )
    if decision.agreement_code and agreement is None:
        errors["agreement_code"] = [Msg("Unknown agreement.")]
    errors.update(_storage_decision_errors(request, decision))
    if errors:
        missing_permission = request.storage_mode is StorageMode.BEYOND_VALIDITY and not decision.allow_storage
        if missing_permission:
            raise Invalid(STORAGE_PERMISSION_REQUIRED, code="storage_permission_required", fields=errors)
        raise Invalid(fields=errors)
    if service.sharing_form is SharingForm.SPECIAL_REQUEST and not _active_agreement(
        agreement, service.provider_agency_id, request.requesting_agency_id
    ):
        # Art. 36–38: special-request sharing rests on an agreement in force between the parties.
        raise Conflict(
            Msg("This service is shared on special request: approve it only under an active agreement between both agencies."),
            code="agreement_required",
        )
    before = snapshot(request)
    moment = now()
    application = session.get(Application, request.application_id) if request.application_id else None
    if application is None:
        application = Application(
            code=f"req-{request.id.hex[:8]}",
            name=f"{service.code} ({local_date(request.received_at).strftime('%d/%m/%Y')})",
            consumer_agency_id=request.requesting_agency_id,
            status=ApplicationStatus.ACTIVE,
        )
        session.add(application)
        session.flush()
        request.application_id = application.id
    valid_to_day = decision.valid_to or request.requested_valid_to or (agreement.valid_to if agreement else None)
    permitted = request.storage_mode is StorageMode.BEYOND_VALIDITY and decision.allow_storage
    storage_until = None
    if permitted:
        # Data retrieved on the grant's last day may still be kept for the declared days.
        storage_until = decision.storage_until or (
            valid_to_day + timedelta(days=request.storage_days or 0) if valid_to_day else None
        )
    grant = Grant(
        application_id=application.id,
        service_id=service.id,
        operations=request.operations,
        allowed_fields=list(request.requested_fields) or None,
        purpose=request.purpose,
        valid_from=moment,
        valid_to=_end_of_day(valid_to_day) if valid_to_day else None,
        quota_per_minute=decision.quota_per_minute,
        quota_per_day=decision.quota_per_day,
        status=GrantStatus.ACTIVE,
        request_id=request.id,
        agreement_id=agreement.id if agreement else None,
        granted_by=actor.label,
        storage_mode=request.storage_mode,
        storage_permitted=permitted,
        storage_days=request.storage_days if permitted else None,
        storage_until=storage_until,
        storage_note=text(decision.storage_note) if permitted else "",
    )
    session.add(grant)
    request.status = RequestStatus.APPROVED
    request.decided_at = moment
    request.decided_by = actor.label
    if agreement is not None:
        request.agreement_id = agreement.id
    session.flush()
    has_account = session.scalar(
        select(ConnectionAccount.id).where(
            ConnectionAccount.application_id == application.id, ConnectionAccount.status == AccountStatus.ACTIVE
        )
    )
    issued = None if has_account else consumers.issue_account(
        session, actor, application.id, label=f"{service.code}", check=False
    )
    record(session, actor, SharingTag.REQUEST_APPROVE, request, before=before, after=snapshot(request),
           label=service.code, covers=[application],
           details={"storage_mode": request.storage_mode.value, "storage_permitted": permitted})
    record(session, actor, SharingTag.GRANT_CREATE, grant, after=snapshot(grant), label=service.code)
    notify_agency(
        session, request.requesting_agency_id, kind="sharing:request:approved",
        title=Msg("Connection request for {code} approved", code=service.code),
        body=Msg("Your application can now call the service through the gateway.") if has_account else Msg(
            "A connection account was issued; its secret is shown once to the approver, who passes it on securely."
        ),
        link=f"/sharing/requests/{request.id}",
    )
    return Approval(request=request, grant=grant, issued=issued)


def reject(session: Session, actor: Actor, request_id: uuid.UUID, *, reason: str, legal_basis: str) -> ConnectionRequest:
    """Refuse in writing with a reason and the legal basis; the IT unit gets a copy."""
    request = get_request(session, actor, request_id)
    service = session.get(DataService, request.service_id)
    assert service is not None
    actor = acting(actor, SharingAction.REQUEST_DECIDE, service.provider_agency_id)
    errors = require_fields({"reason": reason, "legal_basis": legal_basis}, ["reason", "legal_basis"])
    if errors:
        if "legal_basis" in errors:
            errors["legal_basis"] = [Msg("Cite the legal basis that restricts sharing (Decree 194 Art. 16(2)).")]
        raise Invalid(fields=errors)
    if request.status is not RequestStatus.SUBMITTED:
        raise Conflict(Msg("This request has already been decided or withdrawn."))
    before = snapshot(request)
    moment = now()
    request.status = RequestStatus.REJECTED
    request.rejection_reason = text(reason)
    request.legal_basis = text(legal_basis)
    request.decided_at = moment
    request.decided_by = actor.label
    request.copied_to_it_unit_at = moment
    record(session, actor, SharingTag.REQUEST_REJECT, request, before=before, after=snapshot(request), label=service.code)
    title = Msg("Connection request for {code} refused", code=service.code)
    body = Msg("Reason: {reason}. Legal basis: {basis}.", reason=request.rejection_reason, basis=request.legal_basis)
    link = f"/sharing/requests/{request.id}"
    notify_agency(session, request.requesting_agency_id, kind="sharing:request:rejected", title=title, body=body, link=link)
    notify_it_unit(session, kind="sharing:request:rejected", title=title, body=body, link=link)
    return request


def withdraw(session: Session, actor: Actor, request_id: uuid.UUID) -> ConnectionRequest:
    request = get_request(session, actor, request_id)
    actor = acting(actor, SharingAction.REQUEST_SUBMIT, request.requesting_agency_id)
    if request.status is not RequestStatus.SUBMITTED:
        raise Conflict(Msg("This request has already been decided or withdrawn."))
    before = snapshot(request)
    request.status = RequestStatus.WITHDRAWN
    request.decided_at = now()
    record(session, actor, SharingTag.REQUEST_WITHDRAW, request, before=before, after=snapshot(request))
    return request


@dataclass(frozen=True)
class RequestQuery:
    box: str = "mine"  # mine (submitted by my agency) | incoming (for my services) | all
    status: RequestStatus | None = None
    overdue: bool = False
    limit: int = 50
    offset: int = 0


def list_requests(session: Session, actor: Actor, query: RequestQuery) -> tuple[list[ConnectionRequest], int]:
    """Requests in a box, soonest due first. ``all`` is for the IT unit and administrators."""
    if not 1 <= query.limit <= MAX_LIMIT or query.offset < 0:
        raise Invalid(Msg("limit must be between 1 and 500 and offset at least 0."))
    stmt = select(ConnectionRequest)
    if query.box == "all":
        if not (can(actor, SharingAction.IT_QUEUE_VIEW, None) or can(actor, SharingAction.IT_QUEUE_VIEW, it_unit_id(session))):
            raise NotFound(Msg("Not found."))
    elif query.box == "incoming":
        if actor.agency_id is None:
            return [], 0
        stmt = stmt.join(DataService, DataService.id == ConnectionRequest.service_id).where(
            DataService.provider_agency_id == actor.agency_id
        )
    else:
        if actor.agency_id is None:
            return [], 0
        stmt = stmt.where(ConnectionRequest.requesting_agency_id == actor.agency_id)
    if query.status is not None:
        stmt = stmt.where(ConnectionRequest.status == query.status)
    if query.overdue:
        stmt = stmt.where(
            ConnectionRequest.status == RequestStatus.SUBMITTED, ConnectionRequest.due_on < local_date(now())
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(ConnectionRequest.due_on, ConnectionRequest.received_at).limit(query.limit).offset(query.offset)
    )
    return list(rows), total


def alert_overdue_requests(session: Session, actor: Actor, at: datetime) -> int:
    """Alert the provider and the IT unit about undecided requests past their due date."""
    late = session.scalars(
        select(ConnectionRequest).where(
            ConnectionRequest.status == RequestStatus.SUBMITTED,
            ConnectionRequest.breach_alerted_at.is_(None),
            ConnectionRequest.due_on < local_date(at),
        )
    ).all()
    for request in late:
        service = session.get(DataService, request.service_id)
        assert service is not None
        before = snapshot(request)
        request.breach_alerted_at = at
        record(session, actor, SharingTag.REQUEST_BREACH, request, before=before, after=snapshot(request), label=service.code)
        title = Msg("Connection request for {code} is overdue", code=service.code)
        body = Msg("It was due by {due} (Decree 194 Art. 40(3)).", due=request.due_on.strftime("%d/%m/%Y"))
        link = f"/sharing/requests/{request.id}"
        notify_agency(session, service.provider_agency_id, kind="sharing:request:overdue", title=title, body=body, link=link)
        notify_it_unit(session, kind="sharing:request:overdue", title=title, body=body, link=link)
    return len(late)


def request_view(session: Session, request: ConnectionRequest) -> dict[str, Any]:
    """A plain dict for pages and the API."""
    service = session.get(DataService, request.service_id)
    from dulieuso.sharing.service import agency_names

    names = agency_names(session, [request.requesting_agency_id, service.provider_agency_id if service else None])
    grant_id = session.scalar(select(Grant.id).where(Grant.request_id == request.id))
    open_ = request.status is RequestStatus.SUBMITTED
    return {
        "id": request.id,
        "service_code": service.code if service else None,
        "service_name": service.name if service else None,
        "sharing_form": service.sharing_form.value if service else None,
        "provider_agency_id": service.provider_agency_id if service else None,
        "provider_agency": names.get(service.provider_agency_id) if service else None,
        "requesting_agency_id": request.requesting_agency_id,
        "requesting_agency": names.get(request.requesting_agency_id),
        "application_id": request.application_id,
        "operations": request.operations,
        "requested_fields": request.requested_fields,
        "purpose": request.purpose,
        "use_after_retrieval": request.use_after_retrieval,
        "frequency": request.frequency,
        "other_info": request.other_info,
        "requested_valid_to": request.requested_valid_to,
        "received_at": request.received_at,
        "due_on": request.due_on,
        "overdue": open_ and request.due_on < local_date(now()),
        #: Working days from today to the due date (negative once overdue); None once decided.
        "working_days_left": working_days_between(session, local_date(now()), request.due_on) if open_ else None,
        "status": request.status.value,
        "submitted_by": request.submitted_by,
        "decided_at": request.decided_at,
        "decided_by": request.decided_by,
        "rejection_reason": request.rejection_reason,
        "legal_basis": request.legal_basis,
        "copied_to_it_unit_at": request.copied_to_it_unit_at,
        "agreement_id": request.agreement_id,
        "grant_id": grant_id,
        "sharing_method": service.method.value if service else None,
        #: Art. 41: the period of use of the service's data, in hours (None: not set).
        "period_of_use_hours": period_of_use_hours(service) if service else None,
        "storage_mode": request.storage_mode.value,
        "storage_days": request.storage_days,
        "storage_reason": request.storage_reason,
        #: Art. 42(3): approving needs the provider's explicit permission to store.
        "storage_needs_permission": request.storage_mode is StorageMode.BEYOND_VALIDITY,
    }


