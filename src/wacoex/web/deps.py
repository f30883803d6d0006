"""Request dependencies: the container, API-key authentication."""

from __future__ import annotations

import hmac

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from wacoex.bootstrap import Container
from wacoex.errors import Unauthorized


def container(request: Request) -> Container:
    return request.app.state.container


_bearer = HTTPBearer(
    auto_error=False, description="An API key: the admin key or one from `wacoex apikeys create`."
)


def require_api_key(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Security(_bearer),
) -> None:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing bearer API key (Authorization: Bearer <key>)")
    key = credentials.credentials
    c = container(request)
    if hmac.compare_digest(key.encode(), c.settings.admin_api_key.encode()):
        return
    if not c.reading.api_key_valid(key):
        raise Unauthorized("invalid API key")
