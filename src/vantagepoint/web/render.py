"""Page rendering: the template environment, the signed-in viewer, HTML error pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

import vantagepoint
from vantagepoint.core.api.deps import SessionDep, limit_for
from vantagepoint.core.auth import find_token, token_scopes
from vantagepoint.core.store.models import User
from vantagepoint.core.websession import COOKIE, csrf_for
from vantagepoint.errors import Unauthorized, VantageError
from vantagepoint.web.nav import items_for

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


class LoginRequired(Unauthorized):
    """No valid session: pages redirect to the login form, data routes answer 401."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in user, the CSRF token of their session, and whether it may administer.

    ``admin`` asks for the session token's scope as well as the user's role: the admin
    pages and forms would only be refused for a token without the 'admin' scope.
    """

    user: User
    csrf: str
    admin: bool = False


def get_viewer(request: Request, db: SessionDep) -> Viewer:
    secret = request.cookies.get(COOKIE)
    token = find_token(db, secret) if secret else None
    if token is None or token.kind != "user" or token.user is None:
        raise LoginRequired("sign in first")
    if "read" not in token_scopes(token):
        raise LoginRequired("this token lacks the 'read' scope the dashboard needs")
    request.app.state.limiter.take(token.id, limit_for(request.app.state.settings, token))
    admin = token.user.is_admin and "admin" in token_scopes(token)
    return Viewer(token.user, csrf_for(secret), admin)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def render(request: Request, name: str, viewer: Viewer | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """A full page with the layout's context (viewer, navigation, CSRF token)."""
    base = {"viewer": viewer, "version": vantagepoint.__version__,
            "nav": items_for(viewer.admin) if viewer else [],
            "path": request.url.path}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


class PageRoute(APIRoute):
    """A route whose errors become HTML: a login redirect, or an error page."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = quote(request.url.path + (f"?{request.url.query}"
                                                   if request.url.query else ""))
                return RedirectResponse(f"/login?next={target}", status_code=303)
            except VantageError as exc:
                return render(request, "error.html", None, status_code=exc.status, error=exc)

        return page_handler


def _when(value: datetime | float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    value = float(value)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.3g} s"


def _bytes(value: float | None) -> str:
    if value is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.4g} {unit}"
        value /= 1000
    return ""


templates.env.filters.update(when=_when, seconds=_seconds, bytes=_bytes,
                             tojson_attr=lambda v: json.dumps(v))
