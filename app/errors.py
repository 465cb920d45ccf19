"""One error shape for every failure: RFC 9457 problem details with a stable ``code``.

Services raise :class:`AppError` subclasses (never ``HTTPException``); the handlers here render them,
FastAPI's validation errors and Starlette's HTTP errors the same way. Anything else is a logged 500
that carries a request id and no traceback.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:pwsim:problem:"


class AppError(Exception):
    """An error a caller can cause. Subclasses set ``status_code``, ``code`` and ``title``."""

    status_code = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class Unprocessable(AppError):
    status_code = 422
    code = "unprocessable"
    title = "Unprocessable request"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    title = "Service unavailable"


class Problem(BaseModel):
    """RFC 9457 problem details, plus the stable ``code`` (and ``errors`` for validation)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    errors: list[dict[str, Any]] | None = None


def problem_response(request: Request, *, status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
        "code": code,
        **extra,
    }
    headers = {"X-Request-ID": _request_id(request)}
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = rid
    return rid


HTTP_CODES = {
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
}


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that render every error as problem+json."""

    @app.exception_handler(AppError)
    def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem_response(request, status=exc.status_code, code=exc.code, title=exc.title, detail=exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
        return problem_response(
            request,
            status=422,
            code="validation_error",
            title="Request validation failed",
            detail=f"{where}: {first['msg']}" if where else first["msg"],
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = HTTP_CODES.get(exc.status_code, (f"http_{exc.status_code}", "HTTP error"))
        return problem_response(request, status=exc.status_code, code=code, title=title, detail=str(exc.detail))

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = _request_id(request)
        log.error("unhandled error, request id %s", rid, exc_info=exc)
        return problem_response(
            request,
            status=500,
            code="internal_error",
            title="Internal server error",
            detail=f"an unexpected error occurred; quote request id {rid}",
            request_id=rid,
        )
