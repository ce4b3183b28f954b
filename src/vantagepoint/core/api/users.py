"""Users and their API tokens."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from vantagepoint.core.api.deps import AdminUser, CurrentUser, SessionDep
from vantagepoint.core.auth import hash_password, issue_token
from vantagepoint.core.store.models import Token, User
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Conflict, Forbidden, NotFound
from vantagepoint.wire import NodeTokenCreate, TokenCreate, TokenOut, UserCreate, UserOut

router = APIRouter(tags=["users"])


def user_out(user: User) -> UserOut:
    return UserOut(name=user.name, admin=user.is_admin, created_at=user.created_at)


def token_out(token: Token, secret: str | None = None) -> TokenOut:
    return TokenOut(id=token.id, label=token.label, kind=token.kind,
                    user=token.user.name if token.user else None, node=token.node_name,
                    created_at=token.created_at, token=secret)


@router.get("/users/me", summary="The calling user")
def me(user: CurrentUser) -> UserOut:
    """Who the token belongs to."""
    return user_out(user)


@router.get("/users", summary="List users")
def list_users(db: SessionDep, _: AdminUser) -> list[UserOut]:
    """Every user (admin only)."""
    return [user_out(u) for u in db.scalars(select(User).order_by(User.name))]


@router.post("/users", status_code=201, summary="Create a user")
def create_user(body: UserCreate, db: SessionDep, _: AdminUser) -> UserOut:
    """Create a user (admin only); give them a token with POST /tokens."""
    if db.scalar(select(User).where(User.name == body.name)) is not None:
        raise Conflict(f"user {body.name!r} exists already")
    user = User(name=body.name, is_admin=body.admin,
                password_hash=hash_password(body.password) if body.password else None)
    db.add(user)
    db.flush()
    return user_out(user)


@router.post("/tokens", status_code=201, summary="Create an API token")
def create_token(body: TokenCreate, db: SessionDep, user: CurrentUser) -> TokenOut:
    """A new token for yourself, or (admin) for another user; the secret is shown once."""
    owner = user
    if body.user is not None and body.user != user.name:
        if not user.is_admin:
            raise Forbidden("only an admin may create tokens for other users")
        owner = db.scalar(select(User).where(User.name == body.user))
        if owner is None:
            raise NotFound(f"no user {body.user!r}")
    token, secret = issue_token(db, kind="user", user=owner, label=body.label)
    return token_out(token, secret)


@router.get("/tokens", summary="List tokens")
def list_tokens(db: SessionDep, user: CurrentUser) -> list[TokenOut]:
    """Your live tokens (admin: every live token), without secrets."""
    query = select(Token).where(Token.revoked_at.is_(None)).order_by(Token.id)
    if not user.is_admin:
        query = query.where(Token.user_id == user.id)
    return [token_out(t) for t in db.scalars(query)]


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke a token")
def revoke_token(token_id: int, db: SessionDep, user: CurrentUser) -> None:
    """Revoke one of your tokens (admin: any)."""
    token = db.get(Token, token_id)
    if token is None or (not user.is_admin and token.user_id != user.id):
        raise NotFound(f"no token {token_id}")
    token.revoked_at = token.revoked_at or utcnow()


@router.post("/node-tokens", status_code=201, summary="Create a node token")
def create_node_token(body: NodeTokenCreate, db: SessionDep, _: AdminUser) -> TokenOut:
    """A token an agent uses to enrol as the named node (admin only)."""
    token, secret = issue_token(db, kind="node", node_name=body.node, label=body.label)
    return token_out(token, secret)
