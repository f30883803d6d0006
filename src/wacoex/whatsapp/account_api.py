"""The provider's account calls onboarding makes (services/onboarding_port.py, AccountApi).

Meta: the code exchange (`GET /oauth/access_token`), the WABA's phone numbers, a number's
`is_on_biz_app`/`platform_type`, `POST /{waba_id}/subscribed_apps`, and `POST /{phone_number_id}/
smb_app_data` for the one-shot syncs. Never `register`: a coexistence number is registered already.
360dialog: the Partner API (a channel, its API key) and `POST /synchronization`.
All over the one Graph client, so the timeouts and the error table are the sending path's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wacoex.domain.onboarding import SyncKind
from wacoex.errors import NotConfigured, NotFound, ProviderError
from wacoex.services.onboarding_port import FoundNumber
from wacoex.services.ports import NumberRef
from wacoex.whatsapp.graph import DIALOG360, GraphClient, json_object, unreadable

NUMBER_FIELDS = "id,display_phone_number,verified_name,is_on_biz_app,platform_type,throughput,quality_rating"


class GraphAccountApi:
    def __init__(
        self,
        client: GraphClient,
        *,
        app_id: str | None,
        app_secret: str | None,
        d360_hub_url: str,
        d360_partner_id: str | None,
        d360_partner_api_key: str | None,
    ) -> None:
        self._client = client
        self._app_id = app_id
        self._app_secret = app_secret
        self._hub = d360_hub_url.rstrip("/")
        self._partner_id = d360_partner_id
        self._partner_key = d360_partner_api_key

    # -- Meta -------------------------------------------------------------------------------------

    def exchange_code(self, code: str) -> str:
        if not self._app_id or not self._app_secret:
            raise NotConfigured(
                "set WACOEX_META_APP_ID (and WACOEX_META_APP_SECRET) to exchange a signup code"
            )
        answer = self._get(
            "/oauth/access_token",
            None,
            params={"client_id": self._app_id, "client_secret": self._app_secret, "code": code},
        )
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise unreadable("GET", "the code exchange answered no access_token")
        return token

    def phone_numbers(self, waba_id: str, token: str) -> list[FoundNumber]:
        out: list[FoundNumber] = []
        target: str | None = f"/{waba_id}/phone_numbers"
        params: dict[str, str | int] | None = {"fields": NUMBER_FIELDS, "limit": 100}
        for _ in range(100):
            if target is None:
                break
            page = self._get(target, token, params=params)
            out.extend(_found(item) for item in page.get("data") or [] if isinstance(item, dict))
            paging = page.get("paging")
            following = paging.get("next") if isinstance(paging, dict) else None
            target, params = (following if isinstance(following, str) and following else None), None
        return [n for n in out if n.phone_number_id]

    def number_status(self, phone_number_id: str, token: str) -> FoundNumber:
        found = _found(self._get(f"/{phone_number_id}", token, params={"fields": NUMBER_FIELDS}))
        if not found.phone_number_id:
            raise unreadable("GET", "the phone number answered no id")
        return found

    def subscribe_app(self, waba_id: str, token: str) -> None:
        url = self._client.graph_base_url + f"/{waba_id}/subscribed_apps"
        answer = json_object("POST", self._client.call("POST", url, headers=_bearer(token), json={}))
        if answer.get("success") is not True:
            raise ProviderError(
                "Meta did not confirm the app's subscription to the WABA", error="unreadable_answer"
            )

    def request_sync(self, number: NumberRef, kind: SyncKind) -> str:
        path = (
            "/synchronization" if number.provider == DIALOG360 else f"/{number.phone_number_id}/smb_app_data"
        )
        body = {"messaging_product": "whatsapp", "sync_type": kind.value}
        answer = self._client.json(number, "POST", path, json=body)
        request_id = answer.get("request_id")
        # 360dialog documents only a 200 for its synchronization call; Meta answers a request id.
        return str(request_id) if isinstance(request_id, str | int) and str(request_id) else ""

    # -- 360dialog's Partner API --------------------------------------------------------------------

    def channel(self, channel_id: str) -> Mapping[str, Any]:
        answer = self._hub_call("GET", f"/partners/{self._partner()}/channels", params={"limit": 1000})
        for item in answer.get("partner_channels") or answer.get("channels") or []:
            if isinstance(item, dict) and str(item.get("id")) == channel_id:
                return item
        raise NotFound(f"360dialog lists no channel {channel_id} for this partner")

    def set_webhook(self, number: NumberRef, url: str, headers: Mapping[str, str]) -> None:
        self._client.json(number, "POST", "/v1/configs/webhook", json={"url": url, "headers": dict(headers)})

    def channel_api_key(self, channel_id: str) -> str:
        answer = self._hub_call("POST", f"/partners/{self._partner()}/channels/{channel_id}/api_keys")
        key = answer.get("api_key")
        if not isinstance(key, str) or not key:
            raise unreadable("POST", "360dialog answered no api_key")
        return key

    # -- plumbing ---------------------------------------------------------------------------------

    def _get(
        self, path: str, token: str | None, *, params: Mapping[str, str | int] | None = None
    ) -> dict[str, Any]:
        url = path if path.startswith(("http://", "https://")) else self._client.graph_base_url + path
        headers = _bearer(token) if token else None
        return json_object("GET", self._client.call("GET", url, headers=headers, params=params))

    def _partner(self) -> str:
        if not self._partner_id or not self._partner_key:
            raise NotConfigured(
                "set WACOEX_D360_PARTNER_ID and WACOEX_D360_PARTNER_API_KEY for 360dialog onboarding"
            )
        return self._partner_id

    def _hub_call(
        self, method: str, path: str, *, params: Mapping[str, str | int] | None = None
    ) -> dict[str, Any]:
        headers = {"x-api-key": self._partner_key or ""}
        return json_object(
            method, self._client.call(method, self._hub + path, headers=headers, params=params)
        )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _found(item: Mapping[str, Any]) -> FoundNumber:
    on_app = item.get("is_on_biz_app")
    platform = item.get("platform_type")
    throughput = item.get("throughput")
    return FoundNumber(
        phone_number_id=str(item.get("id") or ""),
        display_phone_number="".join(
            ch for ch in str(item.get("display_phone_number") or "") if ch.isdigit()
        ),
        verified_name=item.get("verified_name") if isinstance(item.get("verified_name"), str) else None,
        is_on_biz_app=on_app if isinstance(on_app, bool) else None,
        platform_type=platform if isinstance(platform, str) else None,
        throughput_level=_text(throughput.get("level")) if isinstance(throughput, Mapping) else None,
        quality_rating=_text(item.get("quality_rating")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
