# SPDX-License-Identifier: AGPL-3.0-or-later
"""Field checks shared by agencies and focal points: codes, phones, e-mails, web sites.

Each check returns the cleaned value, or raises ``ValueError`` with a ``Msg`` to show
next to the field.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlparse

from email_validator import EmailNotValidError, validate_email

from dulieuso.agencies.models import AgencyType
from dulieuso.i18n import Msg

CODE_RE = re.compile(r"^[A-Z0-9-]{2,40}$")

# Vietnamese numbering since the 2018 mobile and 2017 landline renumbering:
# mobiles are 10 digits, 0 then 3/5/7/8/9; landlines are 11 digits, 02 then the area code
# (Lai Châu 0213, Hà Nội 024) and the subscriber number. +84 replaces the leading 0.
_MOBILE_RE = re.compile(r"^0[35789]\d{8}$")
_LANDLINE_RE = re.compile(r"^02\d{9}$")
_HOTLINE_RE = re.compile(r"^1[89]00\d{4,6}$")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")


class FieldError(ValueError):
    def __init__(self, message: Msg) -> None:
        self.message = message
        super().__init__(message.en)


def clean_text(
    value: object, *, max_length: int, required: bool = False, multiline: bool = False
) -> str | None:
    """Strip ``value`` (one line: inner runs of spaces too); empty becomes None."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.strip() if multiline else " ".join(value.split())
    else:
        raise FieldError(Msg("Wrong type of value."))
    if not text:
        if required:
            raise FieldError(Msg("This field is required."))
        return None
    if len(text) > max_length:
        raise FieldError(Msg("At most {n} characters.", n=max_length))
    return text


def clean_code(value: object) -> str:
    text = clean_text(value, max_length=40, required=True) or ""
    code = text.upper()
    if not CODE_RE.match(code):
        raise FieldError(Msg("Use 2 to 40 capital letters, digits or hyphens, e.g. LCU-STC."))
    return code


def clean_phone(value: object) -> str | None:
    """A Vietnamese phone number in its national form (``0912345678``), or None."""
    text = clean_text(value, max_length=40)
    if text is None:
        return None
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    if _MOBILE_RE.match(digits) or _LANDLINE_RE.match(digits) or _HOTLINE_RE.match(digits):
        return digits
    raise FieldError(
        Msg(
            "Enter a Vietnamese phone number: a 10-digit mobile number starting with 0 "
            "(e.g. 0912 345 678), a landline with its area code (e.g. 0213 3876 543), "
            "or the same with +84."
        )
    )


def clean_email(value: object, *, required: bool = False) -> str | None:
    text = clean_text(value, max_length=254, required=required)
    if text is None:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise FieldError(Msg("Enter a valid e-mail address.")) from None


def clean_website(value: object) -> str | None:
    text = clean_text(value, max_length=400)
    if text is None:
        return None
    parsed = urlparse(text)
    host = parsed.hostname or ""
    if parsed.scheme not in ("http", "https") or "." not in host or " " in text:
        raise FieldError(Msg("Enter a web address starting with http:// or https://."))
    return text


def clean_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise FieldError(Msg("Enter a date as YYYY-MM-DD."))


def clean_type(value: object) -> AgencyType:
    try:
        return AgencyType(value)
    except ValueError:
        raise FieldError(Msg("Choose an agency type.")) from None


def required_phone(value: object) -> str:
    phone = clean_phone(value)
    if phone is None:
        raise FieldError(Msg("This field is required."))
    return phone


def clean_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise FieldError(Msg("Wrong type of value."))
    return value


def format_phone(phone: str | None) -> str:
    """A stored phone number grouped for reading: ``0912 408 315``, ``0213 3876 512``."""
    if not phone:
        return ""
    if _MOBILE_RE.match(phone):
        return f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    if _LANDLINE_RE.match(phone):
        if phone[:3] in ("024", "028"):  # Hà Nội and TP HCM: 2-digit area code, 8 digits
            return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
        return f"{phone[:4]} {phone[4:8]} {phone[8:]}"
    return phone
