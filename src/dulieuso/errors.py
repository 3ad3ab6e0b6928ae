"""Domain errors. Services raise these; one mapping layer per surface renders them.

The JSON API renders ``{"error": {"code", "message", "message_en", "fields"}}``, the
CKAN facade renders CKAN's envelope, pages render ``errors/error.html``.
Services never raise HTTP exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dulieuso.i18n import Msg

FieldErrors = Mapping[str, Sequence[Msg]]


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_message = Msg("The request is not valid.")

    def __init__(
        self,
        message: Msg | None = None,
        *,
        code: str | None = None,
        fields: FieldErrors | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.fields: dict[str, list[Msg]] = {k: list(v) for k, v in (fields or {}).items()}
        self.extra = dict(extra or {})
        super().__init__(self.message.en)

    def rendered_fields(self, lang: str) -> dict[str, list[str]]:
        """Field errors in ``lang``, for a form that shows each next to its field."""
        return {name: [m.render(lang) for m in messages] for name, messages in self.fields.items()}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message.vi,
            "message_en": self.message.en,
        }
        if self.fields:
            error["fields"] = {k: [m.vi for m in v] for k, v in self.fields.items()}
            error["fields_en"] = {k: [m.en for m in v] for k, v in self.fields.items()}
        error.update(self.extra)
        return {"error": error}


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    default_message = Msg("You need to log in.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = Msg("You are not allowed to do this.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = Msg("Not found.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = Msg("This conflicts with existing data.")


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    default_message = Msg("The request body is too large.")


class Invalid(DomainError):
    status = 422
    code = "invalid"
    default_message = Msg("Some fields are not valid.")


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"
    default_message = Msg("Too many attempts. Please wait and try again.")


class Unavailable(DomainError):
    status = 503
    code = "unavailable"
    default_message = Msg("The service is temporarily unavailable.")
