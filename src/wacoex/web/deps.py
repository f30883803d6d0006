"""Request dependencies: the container, and who the caller is (API-key authentication)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from wacoex.bootstrap import Container
from wacoex.domain.access import Principal
from wacoex.errors import Unauthorized
from wacoex.services.access import GATEWAY_ADMIN


def container(request: Request) -> Container:
    return request.app.state.container


_bearer = HTTPBearer(
    auto_error=False, description="An API key: the admin key or one from `wacoex apikeys create`."
)


def require_api_key(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Security(_bearer),
) -> Principal:
    """The caller: the settings' admin key (every workspace) or a stored key (its workspace and role).

    A missing, unknown or revoked key is 401. FastAPI runs it once per request however many times
    a route and its router ask for it.
    """
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing bearer API key (Authorization: Bearer <key>)")
    key = credentials.credentials
    c = container(request)
    if hmac.compare_digest(key.encode(), c.settings.admin_api_key.encode()):
        return GATEWAY_ADMIN
    who = c.reading.principal(key)
    if who is None:
        raise Unauthorized("invalid API key")
    return who


# A route's caller: `who: Principal = Caller`.
Caller: Any = Depends(require_api_key)
