"""Every API route declares the token scope it needs (read, schedule, admin or node)."""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute, APIWebSocketRoute

from vantagepoint.core.api import stream
from vantagepoint.core.app import api_router

# Routes that answer without a token, on purpose.
PUBLIC = {("GET", "/health")}
# Writes that only need ``read``: managing your own tokens (never beyond your token's
# scopes) and validating a spec without storing it.
READ_WRITES = {("POST", "/tokens"), ("DELETE", "/tokens/{token_id}")}


def _scopes(dependant) -> set[str]:
    found = set()
    for dep in dependant.dependencies:
        scope = getattr(dep.call, "required_scope", None)
        if scope:
            found.add(scope)
        found |= _scopes(dep)
    return found


def _walk(routes):
    for route in routes:
        inner = getattr(route, "original_router", None)  # an included router
        yield from _walk(inner.routes) if inner is not None else [route]


def _api_routes():
    for route in _walk(api_router().routes):
        if isinstance(route, APIRoute):
            for method in route.methods:
                yield method, route.path, _scopes(route.dependant)


def test_every_api_route_declares_one_scope():
    routes = list(_api_routes())
    assert len(routes) > 40
    for method, path, scopes in routes:
        if (method, path) in PUBLIC:
            assert not scopes
            continue
        assert len(scopes) == 1, f"{method} {path} declares scopes {scopes or 'none'}"


def test_scopes_follow_the_kind_of_route():
    for method, path, scopes in _api_routes():
        if (method, path) in PUBLIC:
            continue
        scope = next(iter(scopes))
        if "/agent/" in path:
            assert scope == "node", f"{method} {path} is an agent route but needs {scope}"
        elif method == "GET":
            assert scope in {"read", "admin"}, f"GET {path} needs {scope}"
        elif (method, path) not in READ_WRITES and not path.endswith("/validate"):
            assert scope in {"schedule", "admin"}, f"{method} {path} changes things but " \
                                                   f"needs only {scope}"


def test_the_stream_is_the_only_websocket_and_checks_the_read_scope():
    ws = [r for r in _walk(api_router().routes) if isinstance(r, APIWebSocketRoute)]
    assert [r.path for r in ws] == ["/stream"]
    assert "'read' scope" in inspect.getsource(stream._open)
