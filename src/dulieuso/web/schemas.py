"""Shapes shared by every JSON route: the list envelope and the error body."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """``{"items": [...], "total": N, "limit": L, "offset": O}``"""

    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorDetail(BaseModel):
    code: str
    message: str
    message_en: str
    fields: dict[str, list[str]] | None = None
    fields_en: dict[str, list[str]] | None = None


class ErrorBody(BaseModel):
    model_config = ConfigDict(title="Error")
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Bad request"},
    401: {"model": ErrorBody, "description": "Not logged in"},
    403: {"model": ErrorBody, "description": "Not allowed"},
    404: {"model": ErrorBody, "description": "Not found"},
    409: {"model": ErrorBody, "description": "Conflict"},
    413: {"model": ErrorBody, "description": "Body too large"},
    422: {"model": ErrorBody, "description": "Invalid fields"},
}
