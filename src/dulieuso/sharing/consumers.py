# SPDX-License-Identifier: AGPL-3.0-or-later
"""Consumers: the applications (information systems) of consuming agencies and their
connection accounts (Art. 40). A client secret and an API key are shown once and stored
only as SHA-256 hashes."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dulieuso.agencies.models import Agency
from dulieuso.audit.service import record, snapshot
from dulieuso.auth.permissions import Actor, can
from dulieuso.catalog.models import InformationSystem
from dulieuso.errors import Conflict, Invalid, NotFound
from dulieuso.i18n import Msg
from dulieuso.sharing.access import hash_secret
from dulieuso.sharing.events import SharingTag
from dulieuso.sharing.models import AccountStatus, Application, ApplicationStatus, ConnectionAccount
from dulieuso.sharing.permissions import SharingAction
from dulieuso.sharing.service import acting, now, own_agency, require_fields, text

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,59}$")
FINGERPRINT_RE = re.compile(r"^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$")


@dataclass
class ApplicationInput:
    code: str
    name: str
    agency_code: str | None = None
    description: str = ""
    contact_email: str = ""
    information_system_code: str | None = None


def create_application(session: Session, actor: Actor, data: ApplicationInput) -> Application:
    """Register an information system of a consuming agency."""
    agency = own_agency(session, actor, data.agency_code)
    actor = acting(actor, SharingAction.APPLICATION_MANAGE, agency.id)
    errors = require_fields(vars(data), ["code", "name"])
    if data.code and not CODE_RE.match(data.code.strip()):
        errors["code"] = [Msg("Use letters, digits, dots, dashes or underscores (2 to 60).")]
    system_id = None
    if data.information_system_code:
        system_id = session.scalar(
            select(InformationSystem.id).where(InformationSystem.code == data.information_system_code)
        )
        if system_id is None:
            errors["information_system_code"] = [Msg("Unknown information system.")]
    if errors:
        raise Invalid(fields=errors)
    if session.scalar(
        select(Application.id).where(Application.consumer_agency_id == agency.id, Application.code == data.code.strip())
    ):
        raise Conflict(Msg("This agency already has an application with this code."), fields={"code": [Msg("Already used.")]})
    application = Application(
        code=text(data.code, 60),
        name=text(data.name, 300),
        consumer_agency_id=agency.id,
        information_system_id=system_id,
        description=text(data.description),
        contact_email=text(data.contact_email, 254),
        status=ApplicationStatus.ACTIVE,
    )
    session.add(application)
    record(session, actor, SharingTag.APPLICATION_CREATE, application, after=snapshot(application), label=application.name)
    return application


def get_application(session: Session, actor: Actor, application_id: uuid.UUID) -> Application:
    """An application, for its agency's staff and the administrators (others get 404)."""
    application = session.get(Application, application_id)
    if application is None or not (
        can(actor, SharingAction.APPLICATION_MANAGE, application.consumer_agency_id)
        or can(actor, SharingAction.GRANT_VIEW, application.consumer_agency_id)
    ):
        raise NotFound(Msg("Application not found."), code="application_not_found")
    return application


def list_applications(session: Session, actor: Actor, agency_id: uuid.UUID | None = None) -> list[Application]:
    """Applications of ``agency_id`` (default: the actor's agency; all for administrators)."""
    stmt = select(Application).order_by(Application.name)
    if agency_id is None and can(actor, SharingAction.APPLICATION_MANAGE, None):
        return list(session.scalars(stmt))
    agency_id = agency_id or actor.agency_id
    if agency_id is None or not (
        can(actor, SharingAction.APPLICATION_MANAGE, agency_id) or can(actor, SharingAction.GRANT_VIEW, agency_id)
    ):
        return []
    return list(session.scalars(stmt.where(Application.consumer_agency_id == agency_id)))


@dataclass(frozen=True)
class IssuedAccount:
    """A new account and its credentials, which are never shown again."""

    account: ConnectionAccount
    client_secret: str
    api_key: str | None


def issue_account(
    session: Session,
    actor: Actor,
    application_id: uuid.UUID,
    *,
    label: str = "",
    valid_to: datetime | None = None,
    with_api_key: bool = False,
    cert_fingerprint: str | None = None,
    delegated_by_code: str | None = None,
    check: bool = True,
) -> IssuedAccount:
    """Issue a connection account for an application. ``check=False`` is for approval of a
    request, where the provider (not the consumer) issues it (Art. 35(3))."""
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound(Msg("Application not found."), code="application_not_found")
    if check:
        actor = acting(actor, SharingAction.ACCOUNT_ISSUE, application.consumer_agency_id)
    if application.status is not ApplicationStatus.ACTIVE:
        raise Conflict(Msg("The application is retired."))
    errors: dict[str, list[Msg]] = {}
    if cert_fingerprint and not FINGERPRINT_RE.match(cert_fingerprint.strip()):
        errors["cert_fingerprint"] = [Msg("Enter the SHA-256 fingerprint as 64 hex digits (colons allowed).")]
    if valid_to is not None and valid_to <= now():
        errors["valid_to"] = [Msg("The expiry must be in the future.")]
    delegated_by = None
    if delegated_by_code:
        delegated_by = session.scalar(select(Agency.id).where(Agency.code == delegated_by_code))
        if delegated_by is None:
            errors["delegated_by"] = [Msg("Unknown agency code.")]
    if errors:
        raise Invalid(fields=errors)
    client_secret = "cs_" + secrets.token_urlsafe(32)
    api_key = "dlsk_" + secrets.token_urlsafe(32) if with_api_key else None
    account = ConnectionAccount(
        application_id=application.id,
        client_id="cl_" + secrets.token_hex(10),
        secret_hash=hash_secret(client_secret),
        api_key_hash=hash_secret(api_key) if api_key else None,
        api_key_prefix=api_key[:12] if api_key else None,
        cert_fingerprint=cert_fingerprint.strip().upper() if cert_fingerprint else None,
        label=text(label, 200),
        status=AccountStatus.ACTIVE,
        valid_to=valid_to,
        delegated_by_agency_id=delegated_by,
        issued_by=actor.label,
    )
    session.add(account)
    record(session, actor, SharingTag.ACCOUNT_ISSUE, account, after=snapshot(account), label=account.client_id)
    return IssuedAccount(account=account, client_secret=client_secret, api_key=api_key)


def revoke_account(session: Session, actor: Actor, account_id: uuid.UUID, reason: str, *, check: bool = True) -> ConnectionAccount:
    account = session.get(ConnectionAccount, account_id)
    if account is None:
        raise NotFound(Msg("Connection account not found."))
    application = session.get(Application, account.application_id)
    assert application is not None
    if check:
        actor = acting(actor, SharingAction.ACCOUNT_ISSUE, application.consumer_agency_id)
    if account.status is AccountStatus.REVOKED:
        return account
    before = snapshot(account)
    account.status = AccountStatus.REVOKED
    account.revoked_at = now()
    account.revoked_reason = text(reason) or None
    record(session, actor, SharingTag.ACCOUNT_REVOKE, account, before=before, after=snapshot(account), label=account.client_id)
    return account
