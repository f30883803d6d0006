"""The one table mapping wacoex errors to HTTP statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from wacoex.errors import (
    ConfigError,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadError,
    ProviderError,
    Unauthorized,
    WacoexError,
)

STATUS: dict[type[WacoexError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    Unauthorized: 401,
    PayloadError: 400,
    ProviderError: 502,
    ConfigError: 500,
}


def status_for(exc: WacoexError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def install(app: FastAPI) -> None:
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
            {
                "error": {
                    "code": InvalidInput.code,
                    "message": f"{where}: {first['message']}",
                    "details": {"errors": problems},
                }
            },
            status_code=422,
        )

    @app.exception_handler(WacoexError)
    async def _handle(_request: Request, exc: WacoexError) -> JSONResponse:
        status = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(
            {"error": {"code": exc.code, "message": exc.message, "details": exc.details or None}},
            status_code=status,
            headers=headers,
        )
