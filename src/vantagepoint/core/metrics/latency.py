"""Request latency by route template: a pure ASGI middleware (no body buffering)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Histogram
from starlette.routing import Mount

# From a fast GET to a slow export; the fleet benchmark's p99 target is 200 ms.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "unmatched"  # 404s: never the raw path, so label values stay bounded


def request_histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram("vantage_http_request_duration_seconds",
                     "Time to answer an HTTP request, by method, route template and status "
                     "class.", ["method", "route", "status"], buckets=BUCKETS,
                     registry=registry)


class RequestTimer:
    """Times every HTTP request and labels it with the route that served it."""

    def __init__(self, app, histogram: Histogram):
        self.app, self.histogram = app, histogram

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # websockets (the live stream) last for hours
            await self.app(scope, receive, send)
            return
        began, status = time.perf_counter(), [500]

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.histogram.labels(scope["method"], route_of(scope),
                                  f"{status[0] // 100}xx").observe(time.perf_counter() - began)


def route_of(scope) -> str:
    """The template of the route that served the request (``/api/v1/executions/{id}``).

    A route of an included router knows its path below the include prefix only; the
    prefix is the request path's leading segments, fixed per router, so it is taken
    from there (a parameter never holds a slash here except in a mount's ``{path}``).
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return UNMATCHED
    if isinstance(route, Mount):
        return template + "/{path}"
    if ":path}" in template:
        return template
    segments = scope["path"].split("/")
    return "/".join(segments[: max(1, len(segments) - template.count("/"))]) + template
