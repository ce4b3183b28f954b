"""The core's FastAPI application, built by ``create_app(settings)``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

import vantagepoint
from vantagepoint import redact, web
from vantagepoint.config import CoreSettings
from vantagepoint.core.alarms.dispatch import AlarmDuty
from vantagepoint.core.alarms.notifiers import build_notifiers
from vantagepoint.core.api import (
    agent,
    alarms,
    archivers,
    audit,
    executions,
    files,
    layers,
    metadata,
    node_health,
    nodes,
    results,
    schedules,
    specs,
    storage,
    stream,
    studies,
    users,
)
from vantagepoint.core.api import analysis as analysis_api
from vantagepoint.core.api import export as export_api
from vantagepoint.core.archive import drain_loop, load_archivers
from vantagepoint.core.bodylimit import BodyLimit
from vantagepoint.core.bootstrap import ensure_admin
from vantagepoint.core.duties import Coordinator, duty_status
from vantagepoint.core.heartbeats import HeartbeatBuffer
from vantagepoint.core.metrics import install as install_metrics
from vantagepoint.core.principals import PrincipalCache
from vantagepoint.core.processors import load_processors
from vantagepoint.core.ratelimit import Limiter
from vantagepoint.core.runtime import tune_gc
from vantagepoint.core.scheduler.registry import load_policies
from vantagepoint.core.storage import StorageDuty
from vantagepoint.core.store.db import make_engine, make_sessionmaker, unavailable
from vantagepoint.errors import Invalid, Problem, RateLimited, Unavailable, VantageError
from vantagepoint.spec.pointers import join
from vantagepoint.wire import API_PREFIX

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 2  # a database restart takes seconds


def create_app(settings: CoreSettings | None = None) -> FastAPI:
    """Build the app; the database is migrated and the coordinator started on start-up."""
    settings = settings or CoreSettings()
    notifiers = build_notifiers(settings.notifiers, settings.default_notifiers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ensure_admin(settings)
        engine = make_engine(settings.database_url)
        app.state.sessions = make_sessionmaker(engine)
        coordinator = Coordinator(app.state.sessions, settings, app.state.policies,
                                  load_processors())
        app.state.coordinator = coordinator
        for archiver in app.state.archivers:
            coordinator.add_loop(f"archiver-{archiver.name}", settings.archive_poll_seconds,
                                 drain_loop(app.state.sessions, archiver, settings.archive_batch),
                                 archiver.sink.close)
        coordinator.add_loop("storage", settings.storage_duty_seconds, StorageDuty(
            app.state.sessions, settings, app.state.metrics.count_retention,
            coordinator.lease.held))
        coordinator.start()
        if app.state.owns_process:  # never in a test's process: gc.freeze would pin its garbage
            tune_gc()
        app.state.alarm_duty = AlarmDuty(app.state.sessions, settings, app.state.policies,
                                         notifiers)
        app.state.alarm_duty.start()
        app.state.principals.watch(engine, settings.token_stamp_poll_seconds)
        app.state.heartbeats.start(app.state.sessions, settings.heartbeat_flush_seconds)
        try:
            yield
        finally:
            app.state.heartbeats.stop(app.state.sessions)
            app.state.principals.stop()
            app.state.alarm_duty.stop()
            coordinator.stop()
            engine.dispose()

    app = FastAPI(title="vantagepoint", version=vantagepoint.__version__, lifespan=lifespan,
                  description="A programmable network measurement testbed.")
    app.state.settings = settings
    app.state.owns_process = False  # serve() sets it: the process is the core's own
    app.state.policies = load_policies(settings)
    app.state.notifier_names = frozenset(notifiers)
    app.state.archivers = load_archivers(settings.archivers)
    app.state.limiter = Limiter()
    app.state.login_limiter = Limiter()  # sign-in attempts, by client address
    app.state.principals = PrincipalCache(settings.token_cache_seconds)  # node tokens
    app.state.heartbeats = HeartbeatBuffer()
    app.add_middleware(BodyLimit, settings=settings)
    app.include_router(api_router(), prefix=API_PREFIX)
    web.install(app)
    _error_handlers(app)
    install_metrics(app, settings)
    return app


def api_router() -> APIRouter:
    router = APIRouter()

    @router.get("/health", tags=["health"], summary="Liveness")
    def health(request: Request) -> dict[str, Any]:
        """Answers without a token while the core runs; says which process runs the duties."""
        return {"status": "ok", "version": vantagepoint.__version__,
                **duty_status(request.app)}

    # The agents' routes first: routes are matched in order, and agents make most calls.
    for module in (agent, users, nodes, executions, schedules, results, files, layers,
                   metadata, node_health):
        router.include_router(module.router)
    router.include_router(archivers.router)
    router.include_router(audit.router)
    router.include_router(storage.router)
    for spec_router in specs.routers:
        router.include_router(spec_router)
    for extra in (alarms.router, alarms.agent_router, stream.router):
        router.include_router(extra)
    router.include_router(studies.router)
    # Analysis and export (issue 6).
    for module in (analysis_api, export_api):
        router.include_router(module.router)
    return router


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VantageError)
    async def vantage_error(_: Request, exc: VantageError) -> JSONResponse:
        headers = ({"Retry-After": str(int(exc.retry_after))}
                   if isinstance(exc, RateLimited) else None)
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if not unavailable(exc):
            raise exc  # a bug: the usual 500 with its traceback
        log.warning("%s %s: the database does not answer: %s", request.method,
                    request.url.path, str(exc).splitlines()[0])
        error = Unavailable("the database does not answer (restarting?); try again shortly")
        return JSONResponse(error.to_dict(), status_code=error.status,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [Problem(_pointer(e["loc"]), e["msg"]) for e in exc.errors()]
        return JSONResponse(Invalid("the request is not valid", problems).to_dict(),
                            status_code=422)


def _pointer(loc) -> str:
    """A JSON pointer into the body, or ``query:name`` for parameters."""
    where, *rest = loc
    rest = [p for p in rest if not (isinstance(p, str) and p.startswith("~"))]
    if where == "body":
        return join("", *rest)
    return f"{where}:{'.'.join(map(str, rest))}"


def serve(settings: CoreSettings, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the core in this process until interrupted."""
    import uvicorn

    app = create_app(settings)
    app.state.owns_process = True  # the collector may be tuned for the core (runtime.tune_gc)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=settings.access_log,
                timeout_graceful_shutdown=5, log_config=redact.uvicorn_log_config(settings))
