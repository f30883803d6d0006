"""The one table mapping wacoex errors to HTTP statuses; the one error shape for every error answered."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from wacoex.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotConfigured,
    NotFound,
    PayloadError,
    ProviderError,
    Refused,
    Unauthorized,
    WacoexError,
)

STATUS: dict[type[WacoexError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    Unauthorized: 401,
    Forbidden: 403,
    Refused: 409,
    PayloadError: 400,
    ProviderError: 502,
    ConfigError: 500,
    NotConfigured: 503,
}


def status_for(exc: WacoexError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


# Codes for the statuses Starlette itself answers (unknown path, unknown method, ...).
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _status_name(status: int) -> str:
    try:
        return HTTPStatus(status).name.lower()
    except ValueError:
        return f"http_{status}"


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path: Starlette's 405 names only the first route's."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


def install(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        status = exc.status_code
        headers = dict(exc.headers or {})
        if status == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
            message = f"{request.method} is not allowed on {request.url.path}; allowed: {headers['Allow']}"
        elif status == 404:
            message = f"no such endpoint: {request.method} {request.url.path}"
        else:
            message = str(exc.detail)
        code = _HTTP_CODES.get(status) or _status_name(status)
        return JSONResponse(body(code, message), status_code=status, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug: Starlette still re-raises it after this answer, so the traceback is logged once.
        return JSONResponse(
            body("internal_error", "internal server error; the gateway's log has the details"),
            status_code=500,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Same shape as every other error; FastAPI's own {"detail": [...]} goes under details.
        problems = [
            {"loc": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = problems[0] if problems else {"loc": [], "message": "invalid request"}
        where = ".".join(str(p) for p in first["loc"][1:]) or "request"
        return JSONResponse(
            body(InvalidInput.code, f"{where}: {first['message']}", {"errors": problems}), status_code=422
        )

    @app.exception_handler(WacoexError)
    async def _handle(_request: Request, exc: WacoexError) -> JSONResponse:
        status = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(
            body(exc.code, exc.message, exc.details or None), status_code=status, headers=headers
        )
