"""Request dependencies as Annotated aliases: the database session and who is calling.

Every route names the scope it needs through one of these aliases (a meta-test
checks it): ``CurrentUser`` (read), ``SchedulerUser`` (schedule), ``AdminUser``
(admin) or ``CurrentNode`` (node).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from vantagepoint.config import CoreSettings
from vantagepoint.core.audit import record_refusal
from vantagepoint.core.auth import check_token, token_scopes
from vantagepoint.core.principals import Principal
from vantagepoint.core.ratelimit import Limit
from vantagepoint.core.store.models import Token, User
from vantagepoint.core.websession import cookie_secret
from vantagepoint.errors import AdminRefused, Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False)


def transaction(request: Request) -> AbstractContextManager[Session]:
    """The request's transaction: committed on success, rolled back on error. The agents'
    hottest routes open it in their own body; as a dependency (``SessionDep``) it costs
    two more hops to a worker thread (enter, exit)."""
    return request.app.state.sessions.begin()


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request (``transaction``), audited when an admin route refused."""
    try:
        with transaction(request) as db:
            yield db
    except AdminRefused as exc:
        # Rolled back by now, so SQLite's write lock is free for the audit row's transaction.
        record_refusal(request.app.state.sessions, request, exc.message)
        raise


def get_settings(request: Request) -> CoreSettings:
    return request.app.state.settings


# scope="function": commit before the response leaves, so an acknowledged upload
# is durable even if the process dies right after answering.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
SettingsDep = Annotated[CoreSettings, Depends(get_settings)]


def limit_for(settings: CoreSettings, token: Token | Principal) -> Limit:
    """The rate limit of a token's class (node or user)."""
    if token.kind == "node":
        return Limit("node", settings.rate_limit_node_per_s, settings.rate_limit_node_burst)
    return Limit("user", settings.rate_limit_user_per_s, settings.rate_limit_user_burst)


def authenticate(request, db: Session, secret: str) -> Token:
    """The live token for ``secret``, counted against its rate limit (401, 429)."""
    token = check_token(db, secret)
    app = request.app
    app.state.limiter.take(token.id, limit_for(app.state.settings, token))
    request.state.token = token  # the audit log names the token that acted
    # ... also once the request's transaction is gone (a refused admin attempt):
    request.state.caller = (token.user.name if token.user is not None
                            else f"node {token.node_name}", token.id)
    return token


def get_token(request: Request, db: SessionDep,
              creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Token:
    return authenticate(request, db, _secret(request, creds))


def _secret(request: Request, creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is not None and creds.scheme.lower() == "bearer":
        return creds.credentials
    secret = cookie_secret(request)  # the dashboard's session cookie, CSRF-checked
    if secret is None:
        raise Unauthorized("missing token: send 'Authorization: Bearer <token>'")
    return secret


TokenDep = Annotated[Token, Depends(get_token)]


def need_scope(token: Token, scope: str) -> None:
    """Forbidden unless the token carries ``scope`` (AdminRefused for 'admin': audited)."""
    _need(token.id, token_scopes(token), scope)


def _need(token_id: int, held: frozenset[str], scope: str) -> None:
    if scope not in held:
        refusal = AdminRefused if scope == "admin" else Forbidden
        raise refusal(f"this route needs a token with the {scope!r} scope; token "
                      f"{token_id} has: {', '.join(sorted(held)) or 'no scopes'}")


def _user_with(scope: str) -> Callable[[Token], User]:
    def dependency(token: TokenDep) -> User:
        if token.kind != "user" or token.user is None:
            raise Forbidden("this route needs a user token, not a node token")
        need_scope(token, scope)
        return token.user
    dependency.required_scope = scope  # type: ignore[attr-defined]
    return dependency


CurrentUser = Annotated[User, Depends(_user_with("read"))]
SchedulerUser = Annotated[User, Depends(_user_with("schedule"))]
_AdminScoped = Annotated[User, Depends(_user_with("admin"))]


def get_admin(user: _AdminScoped) -> User:
    if not user.is_admin:
        raise AdminRefused("only an admin may do this")
    return user


AdminUser = Annotated[User, Depends(get_admin)]


async def get_principal(request: Request, creds: HTTPAuthorizationCredentials | None
                        = Depends(_bearer)) -> Principal:
    """The caller's verified token, from the process cache while fresh (no database; see
    core/principals.py), counted against its rate limit. Agents' routes use it.

    Async so that a cached token costs no hop to a worker thread; a lookup in the
    database goes to one, as it may wait for SQLite's write lock."""
    secret, app = _secret(request, creds), request.app
    cache = app.state.principals
    principal = cache.get(secret) or await run_in_threadpool(cache.verify, app.state.sessions,
                                                             secret)
    app.state.limiter.take(principal.id, limit_for(app.state.settings, principal))
    request.state.token = principal
    request.state.caller = (f"node {principal.node_name}", principal.id)
    return principal


async def get_node_name(principal: Annotated[Principal, Depends(get_principal)]) -> str:
    if principal.kind != "node" or not principal.node_name:
        raise Forbidden("this route is for agents and needs a node token")
    _need(principal.id, principal.scopes, "node")
    return principal.node_name


get_node_name.required_scope = "node"  # type: ignore[attr-defined]
CurrentNode = Annotated[str, Depends(get_node_name)]
