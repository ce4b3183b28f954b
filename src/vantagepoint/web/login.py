"""Signing in (API token or username and password) and out."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from vantagepoint.core.api.deps import SessionDep
from vantagepoint.core.auth import check_password, find_token, issue_token
from vantagepoint.core.ratelimit import Limit
from vantagepoint.core.store.models import User
from vantagepoint.core.store.types import utcnow
from vantagepoint.core.websession import COOKIE, SESSION_LABEL, csrf_ok
from vantagepoint.errors import RateLimited
from vantagepoint.web.render import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LOGIN_CSRF = "vp_login_csrf"  # double-submit token of the login form itself
SESSION_DAYS = 7


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect off the dashboard after signing in."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _form(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    page = render(request, "login.html", None, status_code=status, error=error, nonce=nonce,
                  next=_safe_next(request.query_params.get("next")))
    page.set_cookie(LOGIN_CSRF, nonce, httponly=True, samesite="strict", path="/login")
    return page


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    """The sign-in form."""
    return _form(request)


@router.post("/login")
def login(request: Request, db: SessionDep, csrf: Annotated[str, Form()],
          token: Annotated[str, Form()] = "", username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    """Check the credentials; a session cookie holds an API token from then on."""
    nonce = request.cookies.get(LOGIN_CSRF)
    if not nonce or not secrets.compare_digest(nonce, csrf):
        return _form(request, "the form expired; please try again", status=403)
    refused = _too_many_attempts(request)
    if refused is not None:
        return refused
    secret = _token_login(db, token.strip()) if token.strip() else \
        _password_login(db, username.strip(), password)
    if secret is None:
        return _form(request, "wrong token, or wrong username or password", status=401)
    done = RedirectResponse(_safe_next(next), status_code=303)
    done.set_cookie(COOKIE, secret, httponly=True, samesite="lax", path="/",
                    secure=request.url.scheme == "https", max_age=SESSION_DAYS * 86400)
    done.delete_cookie(LOGIN_CSRF, path="/login")
    return done


def _too_many_attempts(request: Request) -> HTMLResponse | None:
    """A 429 form once this address has used up its sign-in attempts, else None.

    Every attempt counts, before any check: a password guess costs an scrypt hash, and
    guessing must stay slow whether it succeeds or not.
    """
    settings = request.app.state.settings
    limit = Limit("sign-in", settings.login_attempts_per_min / 60, settings.login_attempts_burst)
    address = request.client.host if request.client else "unknown"
    try:
        request.app.state.login_limiter.take(address, limit)
    except RateLimited as exc:
        page = _form(request, f"too many sign-in attempts from {address}; try again in "
                              f"{exc.retry_after:g} s", status=429)
        page.headers["Retry-After"] = str(int(exc.retry_after))
        return page
    return None


def _token_login(db, secret: str) -> str | None:
    found = find_token(db, secret)
    return secret if found is not None and found.kind == "user" and found.user else None


def _password_login(db, username: str, password: str) -> str | None:
    user = db.scalar(select(User).where(User.name == username))
    if user is None or not check_password(password, user.password_hash):
        return None
    # The session's token lapses with its cookie, so a stolen cookie does not live on.
    _, secret = issue_token(db, kind="user", user=user, label=SESSION_LABEL,
                            expires_at=utcnow() + timedelta(days=SESSION_DAYS))
    return secret


@router.post("/logout")
def logout(request: Request, db: SessionDep, csrf: Annotated[str, Form()] = "") -> Response:
    """Forget the session; a token made by a password login is revoked with it."""
    secret = request.cookies.get(COOKIE)
    if not secret or not csrf_ok(secret, csrf):
        return RedirectResponse("/", status_code=303)  # not from our own form
    found = find_token(db, secret)
    if found is not None and found.label == SESSION_LABEL:
        found.revoked_at = utcnow()
    done = RedirectResponse("/login", status_code=303)
    done.delete_cookie(COOKIE, path="/")
    return done
