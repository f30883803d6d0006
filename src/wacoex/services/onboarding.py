"""Onboarding a WhatsApp Business app number: Embedded Signup's code to a registered number.

The order is the safe one. The number's country is checked before anything is called when the
number is known; then the code (30 seconds of life) is exchanged, the WABA's numbers listed, the
number confirmed with Meta (`is_on_biz_app` and `platform_type`: an API-only number is refused
before the app is subscribed to anything), the app subscribed to the WABA, and the number registered
in the workspace with its token. Never `register`: a coexistence number is registered already, and
registering would move it to the Cloud API alone. The one-shot syncs follow at once (services/syncs.py).
360dialog's path takes a channel from Integrated Onboarding instead of a code.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from wacoex.domain.access import DEFAULT_WORKSPACE_ID, Principal, Role
from wacoex.domain.eligibility import Eligibility, check_eligibility
from wacoex.domain.ids import same_number
from wacoex.domain.onboarding import confirm_coexistence
from wacoex.errors import Forbidden, InvalidInput, ProviderError, Refused
from wacoex.services.onboarding_port import (
    AccountApi,
    CurrentOnboarding,
    FoundNumber,
    OnboardingStore,
    Registration,
)
from wacoex.services.syncs import Syncs


@dataclass(frozen=True, slots=True)
class Onboarded:
    onboarding: CurrentOnboarding
    created: bool  # a number new to the gateway (else an existing one connected again)
    verified_name: str | None


class Onboarding:
    def __init__(
        self,
        store: OnboardingStore,
        api: AccountApi,
        syncs: Syncs,
        clock: Callable[[], int],
        *,
        unsupported_regions: Collection[str],
        d360_webhook: tuple[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._store = store
        self._api = api
        self._syncs = syncs
        self._clock = clock
        self._regions = unsupported_regions
        # Where a 360dialog number's webhook is pointed once it has its key (the gateway's public
        # /webhooks/360dialog, with the shared-secret header); None: left to the operator.
        self._d360_webhook = d360_webhook

    def eligibility(self, phone: str) -> Eligibility:
        """Whether a number can be onboarded, from its country alone; nothing is called."""
        return check_eligibility(phone, api_only=False, unsupported_regions=self._regions)

    def embedded_signup(
        self,
        who: Principal,
        *,
        code: str,
        waba_id: str,
        phone: str | None = None,
        phone_number_id: str | None = None,
        source: str = "embedded_signup",
    ) -> Onboarded:
        """Finish Embedded Signup for coexistence (FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING gives the
        WABA id and the login callback the code). `phone` or `phone_number_id` pick the number when
        the WABA has several on the Business app."""
        workspace = _workspace(who)
        if not code.strip() or not waba_id.strip():
            raise InvalidInput("code and waba_id are required")
        if phone is not None:
            self._check_region(phone)  # before anything is called
        token = self._exchange(code.strip())
        listed = self._api.phone_numbers(waba_id.strip(), token)
        found = _pick(listed, phone=phone, phone_number_id=phone_number_id, waba_id=waba_id)
        self._check_region(found.display_phone_number)
        status = self._api.number_status(found.phone_number_id, token)
        why_not = confirm_coexistence(status.is_on_biz_app, status.platform_type)
        if why_not is not None:
            raise Refused(why_not, code="not_coexistence", phone_number_id=found.phone_number_id)
        self._api.subscribe_app(waba_id.strip(), token)
        return self._register(
            Registration(
                phone_number_id=found.phone_number_id,
                display_phone_number=status.display_phone_number or found.display_phone_number,
                waba_id=waba_id.strip(),
                provider="meta",
                access_token=token,
                workspace_id=workspace,
                source=source,
                is_on_biz_app=status.is_on_biz_app,
                platform_type=status.platform_type,
            ),
            status.verified_name or found.verified_name,
        )

    def dialog360(
        self, who: Principal, *, channel_id: str, phone: str | None = None, phone_number_id: str | None = None
    ) -> Onboarded:
        """Finish 360dialog's Integrated Onboarding: the channel its redirect names gets an API key
        from the Partner API, and the number is registered with it."""
        workspace = _workspace(who)
        if phone is not None:
            self._check_region(phone)
        channel = self._api.channel(channel_id.strip())
        found = _channel_number(channel, phone_number_id)
        self._check_region(found.display_phone_number)
        waba = channel.get("waba_account")
        waba_id = _text(waba.get("external_id") or waba.get("id")) if isinstance(waba, Mapping) else None
        waba_id = waba_id or _text(channel.get("waba_id"))
        if waba_id is None:
            raise Refused("360dialog's channel names no WhatsApp Business Account", code="number_not_found")
        # Last: a new key revokes the channel's older ones, so nothing that can still refuse comes after.
        key = self._api.channel_api_key(channel_id.strip())
        return self._register(
            Registration(
                phone_number_id=found.phone_number_id,
                display_phone_number=found.display_phone_number,
                waba_id=waba_id,
                provider="360dialog",
                access_token=key,
                workspace_id=workspace,
                source="360dialog",
                is_on_biz_app=found.is_on_biz_app,
                platform_type=found.platform_type,
            ),
            found.verified_name,
        )

    def _register(self, reg: Registration, verified_name: str | None) -> Onboarded:
        current, created = self._store.register(reg, self._clock())
        if reg.provider == "360dialog" and self._d360_webhook is not None:
            # Before the syncs: their webhooks must have somewhere to go (Meta's guide says the same).
            url, headers = self._d360_webhook
            self._api.set_webhook(current.number, url, headers)
        self._syncs.advance(current)
        after = self._store.current(reg.phone_number_id, reg.workspace_id) or current
        return Onboarded(after, created, verified_name)

    def _exchange(self, code: str) -> str:
        try:
            return self._api.exchange_code(code)
        except ProviderError as exc:
            if exc.retryable or exc.ambiguous or exc.http_status is None or exc.http_status >= 500:
                raise
            # Meta refused the code itself: expired (30 seconds), used already, or another app's.
            raise Refused(
                f"Meta refused the signup code ({exc.message}): it lives 30 seconds and works once; "
                "finish Embedded Signup again for a new one",
                code="signup_code_refused",
            ) from exc

    def _check_region(self, phone: str) -> None:
        result = self.eligibility(phone)
        if result.refusal is not None:
            raise Refused(result.refusal, code="not_eligible")


def _workspace(who: Principal) -> int:
    if who.role is not Role.ADMIN:
        raise Forbidden("onboarding a number needs an admin key (or a signup link)")
    return who.workspace_id if who.workspace_id is not None else DEFAULT_WORKSPACE_ID


def _pick(
    listed: list[FoundNumber], *, phone: str | None, phone_number_id: str | None, waba_id: str
) -> FoundNumber:
    if phone_number_id:
        chosen = [n for n in listed if n.phone_number_id == phone_number_id]
    elif phone:
        chosen = [n for n in listed if same_number(n.display_phone_number, phone)]
    else:
        on_app = [n for n in listed if n.is_on_biz_app is True]
        chosen = on_app if on_app else listed
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        which = f" {phone_number_id or phone}" if (phone_number_id or phone) else ""
        raise Refused(
            f"WABA {waba_id} has no phone number{which} on the WhatsApp Business app to onboard",
            code="number_not_found",
        )
    names = ", ".join(f"+{n.display_phone_number} ({n.phone_number_id})" for n in chosen)
    raise Refused(
        f"WABA {waba_id} has several numbers on the Business app ({names}): say which (phone)",
        code="number_ambiguous",
    )


def _channel_number(channel: Mapping[str, Any], phone_number_id: str | None) -> FoundNumber:
    info = channel.get("setup_info")
    setup: Mapping[str, Any] = info if isinstance(info, Mapping) else {}
    phone = _text(setup.get("phone_number")) or _text(channel.get("phone_number")) or ""
    pnid = (
        phone_number_id
        or _text(channel.get("phone_number_id"))
        or _text(channel.get("external_id"))
        or _text(setup.get("phone_number_id"))
        or ""
    )
    if not phone:
        raise Refused(
            "360dialog's channel names no phone number (is its onboarding finished?)", code="number_not_found"
        )
    if not pnid:
        raise Refused(
            "360dialog's channel does not name Meta's id of the number: pass phone_number_id (the "
            "metadata.phone_number_id of the number's webhooks, also shown in 360dialog's hub)",
            code="phone_number_id_required",
        )
    on_app = channel.get("is_on_biz_app")
    platform = channel.get("platform_type")
    return FoundNumber(
        phone_number_id=pnid,
        display_phone_number="".join(ch for ch in phone if ch.isdigit()),
        verified_name=_text(setup.get("phone_name")),
        is_on_biz_app=on_app if isinstance(on_app, bool) else None,
        platform_type=platform if isinstance(platform, str) else None,
    )


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and str(value) else None
