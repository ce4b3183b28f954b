"""Request dependencies as Annotated aliases: the database session and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from vantagepoint.config import CoreSettings
from vantagepoint.core.auth import find_token
from vantagepoint.core.store.models import Token, User
from vantagepoint.core.websession import cookie_secret
from vantagepoint.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False)


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back on error."""
    with request.app.state.sessions.begin() as db:
        yield db


def get_settings(request: Request) -> CoreSettings:
    return request.app.state.settings


# scope="function": commit before the response leaves, so an acknowledged upload
# is durable even if the process dies right after answering.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
SettingsDep = Annotated[CoreSettings, Depends(get_settings)]


def get_token(request: Request, db: SessionDep,
              creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Token:
    if creds is not None and creds.scheme.lower() == "bearer":
        secret = creds.credentials
    else:  # the dashboard's session cookie, CSRF-checked
        secret = cookie_secret(request)
    if secret is None:
        raise Unauthorized("missing token: send 'Authorization: Bearer <token>'")
    token = find_token(db, secret)
    if token is None:
        raise Unauthorized("invalid or revoked token")
    return token


TokenDep = Annotated[Token, Depends(get_token)]


def get_user(token: TokenDep) -> User:
    if token.kind != "user" or token.user is None:
        raise Forbidden("this route needs a user token, not a node token")
    return token.user


CurrentUser = Annotated[User, Depends(get_user)]


def get_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("only an admin may do this")
    return user


AdminUser = Annotated[User, Depends(get_admin)]


def get_node_name(token: TokenDep) -> str:
    if token.kind != "node" or not token.node_name:
        raise Forbidden("this route is for agents and needs a node token")
    return token.node_name


CurrentNode = Annotated[str, Depends(get_node_name)]
