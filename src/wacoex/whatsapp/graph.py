"""The Graph client (Meta's Cloud API or 360dialog, or the emulator as either) and the provider on it.

Every call goes through `GraphClient.request`: it picks the base URL and auth header of the number's
provider, applies the timeouts, and turns every failure into a ProviderError (whatsapp/graph_errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from wacoex.config import Settings
from wacoex.errors import ProviderError
from wacoex.services.ports import NumberRef
from wacoex.services.provider_port import Accepted, Upload
from wacoex.whatsapp.graph_errors import (
    UNREADABLE,
    error_for_answer,
    error_for_transport,
    provider_error,
)

DIALOG360 = "360dialog"
_IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE"})
# Below the usual 5 s server keep-alive: a POST on a connection the server has just closed would
# fail with no answer, which for a send is ambiguous although nothing left.
_KEEPALIVE_SECONDS = 2.0
_MAX_PAGES = 1000
_D360_PAGE = 100


class GraphClient:
    """One httpx client for every provider call, over an injected transport (the real network by default)."""

    def __init__(
        self,
        *,
        graph_base_url: str,
        dialog360_base_url: str,
        connect_timeout: float,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._graph = graph_base_url.rstrip("/")
        self._d360 = dialog360_base_url.rstrip("/")
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(keepalive_expiry=_KEEPALIVE_SECONDS),
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, transport: httpx.BaseTransport | None = None) -> GraphClient:
        return cls(
            graph_base_url=settings.graph_base_url,
            dialog360_base_url=settings.dialog360_base_url,
            connect_timeout=settings.provider_connect_timeout_seconds,
            timeout=settings.provider_timeout_seconds,
            transport=transport,
        )

    def base_url(self, number: NumberRef) -> str:
        return self._d360 if number.provider == DIALOG360 else self._graph

    def request(
        self,
        number: NumberRef,
        method: str,
        target: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        """The one choke point: `target` is a path under the provider's base URL, or a URL it gave us.

        Answers only 2xx; anything else raises ProviderError with the provider's body in `details`.
        """
        token = number.access_token
        if not token:  # nothing leaves without a credential: the provider would only answer 401
            raise ProviderError(
                "no access token registered for this number (wacoex numbers add --access-token)",
                error="unauthorized",
                meaning="the number has no access token or API key",
            )
        if number.provider == DIALOG360:
            headers = {"D360-API-KEY": token}
        else:
            headers = {"Authorization": f"Bearer {token}"}
        url = target if target.startswith(("http://", "https://")) else self.base_url(number) + target
        return self.call(method, url, headers=headers, json=json, params=params, data=data, files=files)

    def call(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        """`request` for a whole URL with the caller's headers (onboarding, before a number has a
        token): the same timeouts, and the same ProviderError for anything but a 2xx."""
        idempotent = method.upper() in _IDEMPOTENT
        try:
            response = self._http.request(
                method, url, headers=headers, json=json, params=params, data=data, files=files
            )
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise error_for_transport(exc, idempotent=idempotent) from exc
        if not 200 <= response.status_code < 300:
            raise error_for_answer(
                response.status_code,
                response.content,
                response.headers.get("retry-after"),
                idempotent=idempotent,
            )
        return response

    @property
    def graph_base_url(self) -> str:
        return self._graph

    @property
    def dialog360_base_url(self) -> str:
        return self._d360

    def json(self, number: NumberRef, method: str, target: str, **kwargs: Any) -> dict[str, Any]:
        """`request`, then its JSON object; a 2xx we cannot read is an error (ambiguous for a POST)."""
        return json_object(method, self.request(number, method, target, **kwargs))

    def close(self) -> None:
        self._http.close()


def json_object(method: str, response: httpx.Response) -> dict[str, Any]:
    """A 2xx answer's JSON object; one we cannot read is an error (ambiguous for a POST)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise unreadable(method, f"HTTP {response.status_code} without a JSON object", response)
    return body


def unreadable(method: str, what: str, response: httpx.Response | None = None) -> ProviderError:
    """A 2xx answer without what it should hold. Sending, the message may have left."""
    if method.upper() in _IDEMPOTENT:
        return ProviderError(f"unexpected answer from the provider ({what})", error="unreadable_answer")
    return provider_error(
        UNREADABLE,
        f"{UNREADABLE.meaning} ({what})",
        http_status=response.status_code if response is not None else None,
    )


class GraphProvider:
    """The Provider port (services/provider_port.py) for Meta's Cloud API and 360dialog."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client

    def send_message(self, number: NumberRef, body: Mapping[str, Any]) -> Accepted:
        answer = self._client.json(number, "POST", _messages_path(number), json=dict(body))
        messages, contacts = answer.get("messages"), answer.get("contacts")
        first = messages[0] if isinstance(messages, list) and messages else None
        if not isinstance(first, dict) or not isinstance(first.get("id"), str) or not first["id"]:
            raise unreadable("POST", "the answer names no message id")
        contact = contacts[0] if isinstance(contacts, list) and contacts else {}
        contact = contact if isinstance(contact, dict) else {}
        return Accepted(
            wamid=first["id"],
            wa_id=_text(contact.get("wa_id")),
            input=_text(contact.get("input")),
            message_status=_text(first.get("message_status")),
            body=answer,
        )

    def mark_read(self, number: NumberRef, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._client.json(number, "POST", _messages_path(number), json=dict(body))

    def upload_media(self, number: NumberRef, upload: Upload) -> str:
        path = "/media" if number.provider == DIALOG360 else f"/{number.phone_number_id}/media"
        answer = self._client.json(
            number,
            "POST",
            path,
            data={"messaging_product": "whatsapp", "type": upload.mime_type},
            files={"file": (upload.filename or "upload", upload.data, upload.mime_type)},
        )
        media_id = answer.get("id")
        if not isinstance(media_id, str | int) or isinstance(media_id, bool) or not str(media_id):
            raise unreadable("POST", "the upload answer names no media id")
        return str(media_id)

    def templates(self, number: NumberRef) -> list[dict[str, Any]]:
        if number.provider == DIALOG360:
            return self._d360_templates(number)
        out: list[dict[str, Any]] = []
        target: str | None = f"/{number.waba_id}/message_templates"
        params: dict[str, str | int] | None = {"limit": 100}
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            if target is None or target in seen:
                break
            seen.add(target)
            page = self._client.json(number, "GET", target, params=params)
            out.extend(t for t in page.get("data") or [] if isinstance(t, dict))
            paging = page.get("paging")
            following = paging.get("next") if isinstance(paging, dict) else None
            # `next` is a whole URL with its cursor and limit: followed as given.
            target, params = (following if isinstance(following, str) and following else None), None
        return out

    def _d360_templates(self, number: NumberRef) -> list[dict[str, Any]]:
        """360dialog pages by offset: `limit`, `offset`, and the `total` it reports."""
        out: list[dict[str, Any]] = []
        for _ in range(_MAX_PAGES):
            page = self._client.json(
                number, "GET", "/v1/configs/templates", params={"limit": _D360_PAGE, "offset": len(out)}
            )
            batch = [t for t in page.get("waba_templates") or [] if isinstance(t, dict)]
            out.extend(batch)
            total = page.get("total")
            if not batch or not isinstance(total, int) or len(out) >= total:
                break
        return out

    def fetch_media(self, number: NumberRef, media_id: str) -> tuple[bytes, str | None]:
        try:
            return self._fetch_media(number, media_id)
        except ProviderError as exc:  # said so in the media's `error`, with the flags kept
            raise ProviderError(
                f"media download failed: {exc.message}",
                graph_code=exc.graph_code,
                http_status=exc.http_status,
                retryable=exc.retryable,
                ambiguous=exc.ambiguous,
                **exc.details,
            ) from exc

    def _fetch_media(self, number: NumberRef, media_id: str) -> tuple[bytes, str | None]:
        meta = self._client.json(number, "GET", f"/{media_id}")
        url = meta.get("url")
        if not isinstance(url, str) or not url:
            raise unreadable("GET", "the media object has no download url")
        if number.provider == DIALOG360:
            # 360dialog serves Meta's lookaside URL through its own host (its media guide).
            base = httpx.URL(self._client.base_url(number))
            url = str(httpx.URL(url).copy_with(scheme=base.scheme, host=base.host, port=base.port))
        response = self._client.request(number, "GET", url)
        mime = _text(meta.get("mime_type")) or response.headers.get("content-type")
        return response.content, mime

    def close(self) -> None:
        self._client.close()


def _messages_path(number: NumberRef) -> str:
    return "/messages" if number.provider == DIALOG360 else f"/{number.phone_number_id}/messages"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
