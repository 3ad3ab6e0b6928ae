"""JSON routes for accounts and API tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from dulieuso.agencies import service as agencies
from dulieuso.auth import service
from dulieuso.auth.schemas import TokenCreate, TokenCreated, TokenPublic, UserCreate, UserPublic
from dulieuso.web.deps import DbDep, LoginDep
from dulieuso.web.schemas import ERROR_RESPONSES, Page

router = APIRouter(tags=["accounts"], responses=ERROR_RESPONSES)


@router.get("/me", response_model=UserPublic, summary="The account making the call")
def me(db: DbDep, actor: LoginDep) -> UserPublic:
    assert actor.user_id is not None
    return UserPublic.model_validate(service.get_user(db, actor, actor.user_id))


@router.get("/users", response_model=Page[UserPublic], summary="Accounts you may manage")
def list_users(
    db: DbDep, actor: LoginDep, q: str | None = None, agency: str | None = None, limit: int = 50, offset: int = 0
) -> Page[UserPublic]:
    agency_id = agencies.get_by_code(db, agency).id if agency else None
    limit = max(1, min(limit, 500))
    users, total = service.list_users(db, actor, agency_id=agency_id, q=q, limit=limit, offset=max(0, offset))
    return Page(items=[UserPublic.model_validate(u) for u in users], total=total, limit=limit, offset=offset)


@router.post("/users", response_model=UserPublic, status_code=201, summary="Create an account")
def create_user(body: UserCreate, db: DbDep, actor: LoginDep) -> UserPublic:
    agency_id = agencies.get_by_code(db, body.agency_code).id if body.agency_code else None
    data = service.NewUser(
        email=body.email, full_name=body.full_name, role=body.role, password=body.password, agency_id=agency_id
    )
    user = service.create_user(db, actor, data)
    db.commit()
    return UserPublic.model_validate(user)


@router.post("/users/{user_id}/disable", response_model=UserPublic, summary="Disable an account")
def disable_user(user_id: uuid.UUID, db: DbDep, actor: LoginDep) -> UserPublic:
    user = service.disable_user(db, actor, service.get_user(db, actor, user_id))
    db.commit()
    return UserPublic.model_validate(user)


@router.get("/tokens", response_model=list[TokenPublic], summary="Your API tokens")
def list_tokens(db: DbDep, actor: LoginDep) -> list[TokenPublic]:
    assert actor.user_id is not None
    user = service.get_user(db, actor, actor.user_id)
    return [TokenPublic.model_validate(t) for t in service.list_tokens(db, actor, user)]


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="Create an API token (shown once)")
def create_token(body: TokenCreate, db: DbDep, actor: LoginDep) -> TokenCreated:
    assert actor.user_id is not None
    user = service.get_user(db, actor, actor.user_id)
    token, plain = service.create_token(db, actor, user, name=body.name, expires_days=body.expires_days)
    db.commit()
    return TokenCreated(**TokenPublic.model_validate(token).model_dump(), token=plain)


@router.delete("/tokens/{token_id}", response_model=TokenPublic, summary="Revoke an API token")
def revoke_token(token_id: uuid.UUID, db: DbDep, actor: LoginDep) -> TokenPublic:
    token = service.revoke_token(db, actor, token_id)
    db.commit()
    return TokenPublic.model_validate(token)
