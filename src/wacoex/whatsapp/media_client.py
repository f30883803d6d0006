"""Downloading media from Meta's Graph API or 360dialog (sync httpx, injectable transport)."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from wacoex.errors import ProviderError
from wacoex.services.ports import NumberRef

_RETRYABLE_HTTP = {429, 500, 502, 503, 504}


class ProviderMediaSource:
    def __init__(
        self, graph_base_url: str, dialog360_base_url: str, client: httpx.Client | None = None
    ) -> None:
        self._graph = graph_base_url.rstrip("/")
        self._d360 = dialog360_base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=30.0)

    def close(self) -> None:
        self._client.close()

    def fetch(self, number: NumberRef, media_id: str) -> tuple[bytes, str | None]:
        try:
            return self._fetch(number, media_id)
        except ValueError as exc:  # a 200 whose body is not the JSON we expect
            raise ProviderError(f"media download failed: unexpected answer ({exc})") from exc

    def _fetch(self, number: NumberRef, media_id: str) -> tuple[bytes, str | None]:
        token = number.access_token or ""
        if number.provider == "360dialog":
            headers = {"D360-API-KEY": token}
            body = self._meta(f"{self._d360}/{media_id}", headers)
            base = httpx.URL(self._d360)
            # 360dialog serves Meta's lookaside URL through its own host (spec §3.4).
            url = httpx.URL(body["url"]).copy_with(scheme=base.scheme, host=base.host, port=base.port)
        else:
            headers = {"Authorization": f"Bearer {token}"}
            body = self._meta(f"{self._graph}/{media_id}", headers)
            url = httpx.URL(body["url"])
        data = self._get(str(url), headers)
        return data.content, body.get("mime_type") or data.headers.get("content-type")

    def _meta(self, url: str, headers: dict[str, str]) -> dict[str, Any]:
        """The media object (`GET /{media_id}`); an answer without a download URL is final."""
        body = self._get(url, headers).json()
        if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not body["url"]:
            raise ProviderError("media download failed: the media object has no download url")
        return body

    def _get(self, url: str, headers: dict[str, str]) -> httpx.Response:
        try:
            response = self._client.get(url, headers=headers)
        except httpx.TransportError as exc:
            raise ProviderError(f"media download failed: {exc}", retryable=True) from exc
        if response.status_code >= 400:
            code = None
            with contextlib.suppress(ValueError):
                code = response.json().get("error", {}).get("code")
            raise ProviderError(
                f"media download failed: HTTP {response.status_code}" + (f" (code {code})" if code else ""),
                graph_code=code,
                http_status=response.status_code,
                retryable=response.status_code in _RETRYABLE_HTTP,
            )
        return response
