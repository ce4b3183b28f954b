"""Users and their API tokens (scopes and expiry: core.scopes)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from sqlalchemy import select

from vantagepoint.core import audit
from vantagepoint.core import scopes as scope_names
from vantagepoint.core.api.deps import AdminUser, CurrentUser, SessionDep, need_scope
from vantagepoint.core.auth import hash_password, issue_token, token_scopes
from vantagepoint.core.store.models import Token, User
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from vantagepoint.wire import NodeTokenCreate, TokenCreate, TokenOut, UserCreate, UserOut

router = APIRouter(tags=["users"])


def user_out(user: User) -> UserOut:
    return UserOut(name=user.name, admin=user.is_admin, created_at=user.created_at)


def token_out(token: Token, secret: str | None = None) -> TokenOut:
    held = token_scopes(token)
    return TokenOut(id=token.id, label=token.label, kind=token.kind,
                    user=token.user.name if token.user else None, node=token.node_name,
                    created_at=token.created_at, token=secret,
                    scopes=[s for s in scope_names.SCOPES if s in held],
                    expires_at=token.expires_at)


def _caller(request: Request) -> Token:
    return request.state.token


@router.get("/users/me", summary="The calling user")
def me(user: CurrentUser) -> UserOut:
    """Who the token belongs to."""
    return user_out(user)


@router.get("/users", summary="List users")
def list_users(db: SessionDep, _: AdminUser) -> list[UserOut]:
    """Every user (admin only)."""
    return [user_out(u) for u in db.scalars(select(User).order_by(User.name))]


@router.post("/users", status_code=201, summary="Create a user")
def create_user(body: UserCreate, request: Request, db: SessionDep, admin: AdminUser) -> UserOut:
    """Create a user (admin only); give them a token with POST /tokens."""
    if db.scalar(select(User).where(User.name == body.name)) is not None:
        raise Conflict(f"user {body.name!r} exists already")
    user = User(name=body.name, is_admin=body.admin,
                password_hash=hash_password(body.password) if body.password else None)
    db.add(user)
    db.flush()
    audit.record(db, request, admin, "user.create", body.name,
                 "created admin" if body.admin else "created")
    return user_out(user)


def _future(when: datetime | None, pointer: str = "/expires_at") -> datetime | None:
    if when is not None and when.tzinfo is None:
        raise Invalid("the token's expiry is not valid",
                      [Problem(pointer, "give a time zone (RFC 3339, e.g. ...Z)")])
    if when is not None and when <= utcnow():
        raise Invalid("the token's expiry is not valid",
                      [Problem(pointer, f"{when.isoformat()} is in the past")])
    return when


def _grant(body: TokenCreate, caller: Token,
           owner: User) -> tuple[tuple[str, ...], datetime | None]:
    """Scopes and expiry of a new token: never beyond the owner's role, nor (for oneself)
    beyond the calling token, which it may not outlive."""
    allowed = set(scope_names.role_scopes("user", owner.is_admin))
    expires = _future(body.expires_at)
    if owner.id == caller.user_id:
        allowed &= token_scopes(caller)
        if caller.expires_at is not None:
            if expires is not None and expires > caller.expires_at:
                raise Invalid("the token's expiry is not valid", [Problem(
                    "/expires_at", "a token cannot outlive the token that creates it "
                                   f"(expires {caller.expires_at.isoformat()})")])
            expires = expires or caller.expires_at
    asked = body.scopes if body.scopes is not None else sorted(allowed)
    scope_names.check_grant(asked, allowed)
    if not asked:
        raise Invalid("the token would have no scope", [Problem("/scopes", "name one")])
    return tuple(asked), expires


@router.post("/tokens", status_code=201, summary="Create an API token")
def create_token(body: TokenCreate, request: Request, db: SessionDep,
                 user: CurrentUser) -> TokenOut:
    """A new token for yourself, or (admin) for another user; the secret is shown once."""
    owner, caller = user, _caller(request)
    if body.user is not None and body.user != user.name:
        if not user.is_admin:
            raise Forbidden("only an admin may create tokens for other users")
        need_scope(caller, "admin")
        owner = db.scalar(select(User).where(User.name == body.user))
        if owner is None:
            raise NotFound(f"no user {body.user!r}")
    scopes, expires = _grant(body, caller, owner)
    token, secret = issue_token(db, kind="user", user=owner, label=body.label, scopes=scopes,
                                expires_at=expires)
    audit.record(db, request, user, "token.create", f"token {token.id} of user {owner.name}",
                 f"scopes={scope_names.dump(scopes)} expires={_when(expires)}")
    return token_out(token, secret)


def _when(at: datetime | None) -> str:
    return at.isoformat() if at is not None else "never"


def visible_tokens(db, user: User, every: bool) -> list[TokenOut]:
    """The user's live tokens, or (``every``) all live tokens, without secrets."""
    query = select(Token).where(Token.revoked_at.is_(None)).order_by(Token.id)
    if not every:
        query = query.where(Token.user_id == user.id)
    return [token_out(t) for t in db.scalars(query)]


@router.get("/tokens", summary="List tokens")
def list_tokens(db: SessionDep, user: CurrentUser, request: Request) -> list[TokenOut]:
    """Your live tokens (admin token: every live token), without secrets."""
    return visible_tokens(db, user, user.is_admin and "admin" in token_scopes(_caller(request)))


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke a token")
def revoke_token(token_id: int, request: Request, db: SessionDep, user: CurrentUser) -> None:
    """Revoke one of your tokens (admin token: any)."""
    token = db.get(Token, token_id)
    may_any = user.is_admin and "admin" in token_scopes(_caller(request))
    if token is None or (not may_any and token.user_id != user.id):
        raise NotFound(f"no token {token_id}")
    outcome = "already revoked" if token.revoked_at is not None else "revoked"
    token.revoked_at = token.revoked_at or utcnow()
    request.app.state.principals.forget(token_id)
    owner = token.user.name if token.user else f"node {token.node_name}"
    audit.record(db, request, user, "token.revoke", f"token {token_id} of {owner}", outcome)


@router.post("/node-tokens", status_code=201, summary="Create a node token")
def create_node_token(body: NodeTokenCreate, request: Request, db: SessionDep,
                      admin: AdminUser) -> TokenOut:
    """A token an agent uses to enrol as the named node (admin only)."""
    expires = _future(body.expires_at)
    token, secret = issue_token(db, kind="node", node_name=body.node, label=body.label,
                                expires_at=expires)
    audit.record(db, request, admin, "node_token.create", f"token {token.id} of node "
                 f"{body.node}", f"expires={_when(expires)}")
    return token_out(token, secret)
