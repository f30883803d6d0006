"""Request dependencies: the container, the database connection, API-key authentication."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Connection

from wacoex.bootstrap import Container
from wacoex.errors import Unauthorized
from wacoex.store.apikeys import api_key_valid


def container(request: Request) -> Container:
    return request.app.state.container


def connection(c: Container = Depends(container)) -> Iterator[Connection]:
    with c.read_engine.connect() as conn:
        yield conn


_bearer = HTTPBearer(
    auto_error=False, description="An API key: the admin key or one from `wacoex apikeys create`."
)


def require_api_key(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Security(_bearer),
    conn: Connection = Depends(connection),
) -> None:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing bearer API key (Authorization: Bearer <key>)")
    key = credentials.credentials
    admin = request.app.state.container.settings.admin_api_key
    if hmac.compare_digest(key.encode(), admin.encode()):
        return
    if not api_key_valid(conn, key):
        raise Unauthorized("invalid API key")
