"""Reading plain HTML form fields: trimmed text, whole numbers and ISO dates.

Bad values are collected into ``errors`` (field -> messages) so a form can show each
next to its field; parsing never raises.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from dulieuso.i18n import Msg


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_int(form: FormData, name: str, errors: dict[str, list[Msg]]) -> int | None:
    value = form_text(form, name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        errors[name] = [Msg("Enter a whole number.")]
        return None


def form_date(form: FormData, name: str, errors: dict[str, list[Msg]]) -> date | None:
    value = form_text(form, name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = [Msg("Enter a date as YYYY-MM-DD.")]
        return None
