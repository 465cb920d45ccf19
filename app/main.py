"""The FastAPI application: routers, error handlers, metrics and the lifespan that wires the
database, the signing key, the job dispatcher and the reaper."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from app import metrics
from app.api import EXTRA_SCHEMAS, api_router
from app.artifacts.signing import load_signer
from app.config import Settings, get_settings
from app.db import make_engine, make_session_factory, session_scope, upgrade_database
from app.errors import Problem, ServiceUnavailable, install_error_handlers
from app.jobs.dispatch import make_dispatcher
from app.jobs.reaper import Reaper, requeue_orphans

log = logging.getLogger(__name__)


class NotReady(ServiceUnavailable):
    code = "not_ready"
    title = "Not ready"


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


def _route_id(route: APIRoute) -> str:
    """operationId = the route's name, so generated clients get stable, readable method names."""
    return route.name


def _publish_extra_schemas(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            spec.setdefault("components", {}).setdefault("schemas", {}).update(EXTRA_SCHEMAS)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _should_migrate(settings: Settings) -> bool:
    return settings.migrate_on_start if settings.migrate_on_start is not None else settings.database_url is None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for folder in (settings.data_dir, settings.uploads_dir, settings.artifacts_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if _should_migrate(settings):
            await run_in_threadpool(upgrade_database, settings.sqlalchemy_url)
        engine = make_engine(settings.sqlalchemy_url)
        app.state.session_factory = make_session_factory(engine)
        app.state.signer = load_signer(settings)
        app.state.dispatcher = make_dispatcher(
            settings=settings, session_factory=app.state.session_factory, signer=app.state.signer
        )
        if settings.embedded:
            with session_scope(app.state.session_factory) as session:
                requeue_orphans(session=session, dispatcher=app.state.dispatcher)
        reaper = Reaper(session_factory=app.state.session_factory, settings=settings, dispatcher=app.state.dispatcher)
        reaper.start()
        try:
            yield
        finally:
            reaper.stop()
            await run_in_threadpool(app.state.dispatcher.shutdown)
            engine.dispose()

    app = FastAPI(
        title="PWSIM Service",
        version="0.1.0",
        summary="Differentially private synthetic tabular data: datasets, budgets, jobs, signed artifacts.",
        lifespan=lifespan,
        generate_unique_id_function=_route_id,
        responses={"default": {"model": Problem, "description": "Error (RFC 9457 problem details)."}},
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.middleware("http")(metrics.record_request)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Any:
        request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        response = await call_next(request)
        response.headers.setdefault("X-Request-ID", request.state.request_id)
        return response

    app.include_router(api_router)
    _publish_extra_schemas(app)

    @app.get("/healthz", response_model=Health, tags=["ops"], name="healthz")
    def healthz() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Readiness, tags=["ops"], name="readyz")
    def readyz(request: Request) -> Readiness:
        """Readiness: the database and the broker are reachable."""
        checks: dict[str, str] = {}
        try:
            with session_scope(request.app.state.session_factory) as session:
                session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            raise NotReady(f"database unreachable: {type(exc).__name__}", checks={"database": "unreachable"}) from None
        if settings.embedded:
            checks["broker"] = "in-process"
        else:
            try:
                with request.app.state.dispatcher.celery.connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1, timeout=3)
                checks["broker"] = "ok"
            except Exception as exc:
                raise NotReady(f"broker unreachable: {type(exc).__name__}", checks={**checks, "broker": "unreachable"}) from None
        return Readiness(status="ready", checks=checks)

    @app.get("/metrics", include_in_schema=False, name="metrics")
    def prometheus_metrics() -> Any:
        return metrics.metrics_response()

    return app
