"""The emulator's world: businesses, WABAs, numbers, customers, chats, templates and media, in memory.

Plain dataclasses mutated on one asyncio event loop. The world holds state only: the dispatcher,
faults, the billing ledger and the status machine sit beside it in ``runtime.Runtime``.
"""

from __future__ import annotations

import base64
import itertools
import random
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from wacoex.emulator.clock import Clock
from wacoex.emulator.platform.billing import RateCard, calling_code_of

DAY = 86400.0
UNSUPPORTED_DEVICES = frozenset({"windows", "wearos"})


@dataclass
class WorldConfig:
    """Every knob of the emulator; ``create_app(**config)`` and the CLI fill it."""

    app_id: str = "100000000000001"
    app_name: str = "wacoex emulator"
    app_secret: str = "emulator-app-secret"
    webhook_url: str | None = None
    verify_token: str = "emulator-verify-token"
    access_tokens: list[str] = field(default_factory=lambda: ["emulator-token"])
    d360_partner_webhook_url: str | None = None
    d360_partner_secret: str | None = None
    # 360dialog's Partner API (/api/v2): the partner's id, its X-API-Key, and the login for POST /token
    d360_partner_id: str = "emulatorPA"
    d360_partner_api_key: str = "emulator-partner-api-key"
    d360_partner_username: str = "partner@emulator.test"
    d360_partner_password: str = "emulator-partner-password"
    # Embedded Signup: the configuration id FB.login must name (None = any)
    es_config_id: str | None = None
    blocked_country_codes: list[str] = field(default_factory=lambda: ["234", "27"])
    api_version: str = "v23.0"
    min_app_version: str = "2.24.17"
    min_age_days: int = 7
    # statuses: seconds after the send that `delivered` (and optionally `read`) are emitted
    delivery_delay: float = 1.0
    auto_read_delay: float | None = None
    coex_throughput: int = 20
    default_throughput: int = 80
    pair_rate_interval: float = 6.0
    pair_burst: int = 10
    default_messaging_limit: int | None = 2000
    csw_seconds: float = DAY
    fep_seconds: float = 3 * DAY
    sync_window_seconds: float = DAY
    oauth_code_ttl: float = 30.0
    webhook_timeout: float = 10.0
    retry_base: float = 10.0
    retry_max_interval: float = 6 * 3600.0
    retry_window: float = 7 * DAY
    # where media download URLs point; None = the emulator itself (the request's base URL)
    media_base_url: str | None = None
    media_url_ttl: float = 300.0
    media_ttl: float = 30 * DAY
    template_review_seconds: float = 0.0
    max_log: int = 10000
    escape_unicode: bool = True
    seed: int = 0


@dataclass
class Business:
    id: str
    name: str
    waba_ids: list[str] = field(default_factory=list)
    messaging_limit: int | None = 2000  # portfolio-level; None = unlimited
    auth_international_eligible: bool = False


@dataclass
class Waba:
    id: str
    business_id: str
    name: str
    phone_number_ids: list[str] = field(default_factory=list)
    subscribed: bool = True
    override_callback_uri: str | None = None
    verify_token: str | None = None
    currency: str = "USD"


@dataclass
class Device:
    kind: str
    linked: bool = True
    last_active_at: float = 0.0

    @property
    def supported(self) -> bool:
        return self.kind not in UNSUPPORTED_DEVICES

    SUPPORTED = supported


@dataclass
class Contact:
    phone_number: str
    full_name: str
    first_name: str = ""
    updated_at: float = 0.0


@dataclass
class BusinessProfile:
    """What customers see when they open the business's profile (set through the Graph API)."""

    about: str | None = None
    address: str | None = None
    description: str | None = None
    email: str | None = None
    profile_picture_url: str | None = None
    websites: list[str] = field(default_factory=list)
    vertical: str | None = None


NumberState = Literal["APP_ONLY", "API_ONLY", "CONNECTED", "OFFBOARDED"]


@dataclass
class Number:
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    country_calling_code: str
    verified_name: str
    provider: str = "meta"
    access_token: str | None = None
    d360_api_key: str | None = None
    d360_channel_id: str | None = None
    d360_client_id: str | None = None
    on_biz_app: bool = True
    platform_type: str = "NOT_APPLICABLE"
    app_version: str = "2.25.10"
    age_days: int = 365
    quality: str = "GREEN"
    state: str = "APP_ONLY"
    onboarded_at: float | None = None
    history_shared: bool = True
    sync_done: set[str] = field(default_factory=set)
    devices: list[Device] = field(default_factory=lambda: [Device("primary")])
    address_book: dict[str, Contact] = field(default_factory=dict)
    last_primary_open_at: float = 0.0
    webhook_url: str | None = None
    webhook_headers: dict[str, str] = field(default_factory=dict)
    webhook_verify_token: str | None = None
    official_business_account: bool = False
    disabled: bool = False  # the WABA is disabled (DISABLED_UPDATE, ban state DISABLE): sends are refused
    business_profile: BusinessProfile = field(default_factory=BusinessProfile)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def coexistence(self) -> bool:
        return self.on_biz_app and self.platform_type == "CLOUD_API"

    @property
    def can_send_via_api(self) -> bool:
        return self.state in ("CONNECTED", "API_ONLY") and self.platform_type == "CLOUD_API"


@dataclass
class Customer:
    wa_id: str
    name: str
    user_id: str | None = None
    country_calling_code: str = ""
    device: str = "android"
    unsupported_companion: bool = False
    marketing_opt_out: bool = False
    on_whatsapp: bool = True


@dataclass
class ChatMessage:
    wamid: str
    phone_number_id: str
    wa_id: str
    direction: str
    origin: str
    type: str
    content: dict[str, Any]
    timestamp: float
    device: str | None = None
    status: str = "sent"
    context_id: str | None = None
    edited: bool = False
    revoked: bool = False
    pricing: dict[str, Any] | None = None
    before_onboarding: bool = False
    referral: dict[str, Any] | None = None
    conversation: dict[str, Any] | None = None
    biz_opaque_callback_data: str | None = None
    emitted_statuses: list[str] = field(default_factory=list)


@dataclass
class Chat:
    phone_number_id: str
    wa_id: str
    messages: list[ChatMessage] = field(default_factory=list)
    last_customer_message_at: float | None = None
    fep_until: float | None = None
    fep_source_wamid: str | None = None


@dataclass
class Template:
    name: str
    language: str
    category: str
    status: str = "APPROVED"
    components: list[dict[str, Any]] = field(default_factory=list)
    id: str = ""
    waba_id: str = ""
    parameter_format: str = "POSITIONAL"  # or "NAMED": {{first_name}} placeholders


@dataclass
class MediaObject:
    id: str
    phone_number_id: str
    mime_type: str
    data: bytes
    sha256: str
    created_at: float
    filename: str | None = None
    expired: bool = False

    @property
    def file_size(self) -> int:
        return len(self.data)


@dataclass
class TokenBucket:
    tokens: float
    at: float


@dataclass
class FreeEntryPoint:
    """A 72 h free entry point window opened by the business's first reply to a CTWA message."""

    source_wamid: str
    until: float


@dataclass
class RateState:
    """What the send path remembers between sends to enforce Meta's limits."""

    # phone_number_id -> instants of the sends accepted within the last second (throughput)
    recent_sends: dict[str, deque[float]] = field(default_factory=dict)
    # (phone_number_id, wa_id) -> the pair-rate bucket
    pair_buckets: dict[tuple[str, str], TokenBucket] = field(default_factory=dict)
    # business_id -> wa_id -> when that user was last reached outside a window (messaging limit)
    reached: dict[str, dict[str, float]] = field(default_factory=dict)
    # (phone_number_id, wa_id) -> the free entry point window the send path opened
    free_entry_points: dict[tuple[str, str], FreeEntryPoint] = field(default_factory=dict)


@dataclass
class Refusal:
    """A send the platform answered with a Graph error (throughput, window, template, ...)."""

    at: float
    phone_number_id: str
    to: str | None
    code: int
    title: str


@dataclass
class OAuthCode:
    code: str
    business_id: str | None
    created_at: float
    used: bool = False


class World:
    """All emulator state and the clock; what acts on it and emits webhooks is the Runtime beside it."""

    def __init__(self, config: WorldConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or WorldConfig()
        self.clock = clock or Clock()
        self._init_state()

    def _init_state(self) -> None:
        self.random = random.Random(self.config.seed)
        self.businesses: dict[str, Business] = {}
        self.wabas: dict[str, Waba] = {}
        self.numbers: dict[str, Number] = {}
        self.customers: dict[str, Customer] = {}
        self.templates: dict[tuple[str, str, str], Template] = {}
        self.chats: dict[tuple[str, str], Chat] = {}
        self.messages: dict[str, ChatMessage] = {}
        self.media: dict[str, MediaObject] = {}
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.d360_partner_tokens: set[str] = set()
        self.tokens: dict[str, str | None] = dict.fromkeys(self.config.access_tokens)
        self.rate_card = RateCard.default()
        self.rate_state = RateState()
        self.refusals: list[Refusal] = []
        self._ids = itertools.count(1)

    # -- ids ----------------------------------------------------------------------------------
    def new_id(self, prefix: str = "1") -> str:
        """A numeric Graph-style id (15-16 digits), unique in this world."""
        return f"{prefix}{next(self._ids):06d}{self.random.randrange(10**8):08d}"

    def new_wamid(self, wa_id: str = "") -> str:
        raw = b"\x15\x02\x00\x11\x18\x12" + wa_id.encode() + secrets.token_hex(10).upper().encode()
        return "wamid.HBgL" + base64.b64encode(raw).decode()

    # -- lookups ------------------------------------------------------------------------------
    def chat(self, phone_number_id: str, wa_id: str) -> Chat:
        key = (phone_number_id, wa_id)
        found = self.chats.get(key)
        if found is None:
            found = self.chats[key] = Chat(phone_number_id, wa_id)
        return found

    def number_by_display(self, digits: str) -> Number | None:
        digits = "".join(ch for ch in digits if ch.isdigit())
        for number in self.numbers.values():
            if number.display_phone_number == digits:
                return number
        return None

    def number_by_api_key(self, key: str) -> Number | None:
        for number in self.numbers.values():
            if number.d360_api_key is not None and secrets.compare_digest(number.d360_api_key, key):
                return number
        return None

    def business_of(self, number: Number) -> Business:
        return self.businesses[self.wabas[number.waba_id].business_id]

    # -- creation -----------------------------------------------------------------------------
    def add_business(self, name: str = "Business", *, id: str | None = None, **fields: Any) -> Business:
        business = Business(id=id or self.new_id("9"), name=name, **fields)
        if "messaging_limit" not in fields:
            business.messaging_limit = self.config.default_messaging_limit
        self.businesses[business.id] = business
        return business

    def add_waba(self, business_id: str, name: str = "WABA", *, id: str | None = None, **fields: Any) -> Waba:
        waba = Waba(id=id or self.new_id("2"), business_id=business_id, name=name, **fields)
        self.wabas[waba.id] = waba
        self.businesses[business_id].waba_ids.append(waba.id)
        return waba

    def add_number(
        self,
        display_phone_number: str,
        *,
        waba_id: str | None = None,
        business_id: str | None = None,
        phone_number_id: str | None = None,
        verified_name: str | None = None,
        onboarded: bool = False,
        **fields: Any,
    ) -> Number:
        """Create a number (and its business and WABA when not given).

        ``onboarded=True`` gives a connected coexistence number onboarded now; ``on_biz_app=False``
        gives an API-only number.
        """
        digits = "".join(ch for ch in display_phone_number if ch.isdigit())
        if waba_id is None:
            if business_id is None:
                business_id = self.add_business(verified_name or "Business").id
            elif business_id not in self.businesses:
                self.add_business(verified_name or "Business", id=business_id)
            waba_id = self.add_waba(business_id, f"{verified_name or 'Business'} WABA").id
        elif waba_id not in self.wabas:
            if business_id is None or business_id not in self.businesses:
                business_id = self.add_business(verified_name or "Business", id=business_id).id
            self.add_waba(business_id, "WABA", id=waba_id)
        now = self.clock.now()
        number = Number(
            phone_number_id=phone_number_id or self.new_id("1"),
            display_phone_number=digits,
            waba_id=waba_id,
            country_calling_code=fields.pop("country_calling_code", None) or calling_code_of(digits),
            verified_name=verified_name or self.wabas[waba_id].name,
            last_primary_open_at=now,
            **fields,
        )
        if not number.on_biz_app:
            number.state = "API_ONLY"
            number.platform_type = "CLOUD_API"
        elif onboarded:
            number.state = "CONNECTED"
            number.platform_type = "CLOUD_API"
            number.onboarded_at = now
            for device in number.devices:
                device.linked = device.kind == "primary"
        for device in number.devices:
            device.last_active_at = device.last_active_at or now
        if number.access_token is not None:
            self.tokens.setdefault(number.access_token, self.wabas[waba_id].business_id)
        self.numbers[number.phone_number_id] = number
        self.wabas[waba_id].phone_number_ids.append(number.phone_number_id)
        return number

    def add_customer(self, wa_id: str, name: str = "", **fields: Any) -> Customer:
        digits = "".join(ch for ch in wa_id if ch.isdigit())
        fields.setdefault("country_calling_code", calling_code_of(digits))
        customer = Customer(wa_id=digits, name=name or f"Customer {digits[-4:]}", **fields)
        self.customers[digits] = customer
        return customer

    def add_template(self, waba_id: str, name: str, language: str, category: str, **fields: Any) -> Template:
        template = Template(
            name=name, language=language, category=category.upper(), waba_id=waba_id, **fields
        )
        template.id = template.id or self.new_id("7")
        self.templates[(waba_id, name, language)] = template
        return template

    def create_oauth_code(self, business_id: str | None) -> OAuthCode:
        """A one-time Embedded Signup code, exchangeable at ``/oauth/access_token`` for 30 s."""
        code = OAuthCode(
            code="AQ" + secrets.token_urlsafe(24), business_id=business_id, created_at=self.clock.now()
        )
        self.oauth_codes[code.code] = code
        return code

    def metadata(self, number: Number) -> dict[str, str]:
        return {
            "display_phone_number": number.display_phone_number,
            "phone_number_id": number.phone_number_id,
        }

    # -- housekeeping -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything except the configuration (and keep the same clock)."""
        self.clock.clear()
        self._init_state()
