"""The emulator's runtime beside its world: the webhook dispatcher, faults, the billing ledger, and the
status machine of API-sent messages.

The world holds state only; whatever acts on it and emits webhooks (customers, the phone, the platform
APIs, the control API) goes through the runtime. ``create_app`` keeps one in ``app.state.runtime``.
"""

from __future__ import annotations

from typing import Any

from wacoex.emulator.control.faults import FaultSet
from wacoex.emulator.platform.billing import Ledger
from wacoex.emulator.platform.webhooks import Dispatcher
from wacoex.emulator.world import ChatMessage, World

STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 4}


class Runtime:
    """The moving parts of one world: ``dispatcher``, ``faults``, ``ledger`` and message statuses."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._start()

    def _start(self) -> None:
        self.faults = FaultSet(self.world)
        self.ledger = Ledger()
        self.dispatcher = Dispatcher(self.world, self.faults)

    def reset(self) -> None:
        """Forget the world's state, faults, ledger and delivery log (the configuration, the clock and
        the dispatcher's HTTP client stay)."""
        client = self.dispatcher.client
        self.world.reset()
        self._start()
        self.dispatcher.client = client

    # -- webhooks -----------------------------------------------------------------------------
    def emit(
        self, phone_number_id: str, field: str, value: dict[str, Any], *, at: float | None = None
    ) -> None:
        """Wrap ``value`` in the envelope its route needs and hand it to the dispatcher."""
        self.dispatcher.emit(phone_number_id, field, value, at=at)

    # -- statuses -----------------------------------------------------------------------------
    def update_status(
        self, wamid: str, status: str, errors: list[dict[str, Any]] | None = None, *, at: float | None = None
    ) -> bool:
        """Move an outbound message to ``status`` and emit its ``statuses`` webhook.

        Statuses only move forward; ``read`` may skip ``delivered`` (then no ``delivered`` webhook is
        sent, as Meta documents). ``pricing`` rides on ``sent`` and on the first of delivered/read.
        Messages sent from the Business app change state silently (no status webhooks for them).
        Returns whether anything changed.
        """
        msg = self.world.messages.get(wamid)
        if msg is None or msg.direction != "outbound":
            if msg is not None and status == "read":
                msg.status = "read"
                return True
            return False
        if "failed" in msg.emitted_statuses:
            return False
        if status != "failed":
            if status not in STATUS_RANK:
                raise ValueError(f"unknown status {status!r}")
            done = max((STATUS_RANK.get(s, 0) for s in msg.emitted_statuses), default=0)
            if STATUS_RANK[status] <= done:
                return False
            if status == "played" and msg.type != "audio":
                return False
        if status != "sent" and "sent" not in msg.emitted_statuses and status != "failed":
            self._emit_status(msg, "sent", None, at)
        msg.status = status
        self._emit_status(msg, status, errors, at)
        if status in ("delivered", "read", "played"):
            self.ledger.mark_delivered(wamid, at if at is not None else self.world.clock.now())
        return True

    def _emit_status(
        self, msg: ChatMessage, status: str, errors: list[dict[str, Any]] | None, at: float | None
    ) -> None:
        msg.emitted_statuses.append(status)
        if msg.origin != "api":
            return
        number = self.world.numbers[msg.phone_number_id]
        ts = at if at is not None else self.world.clock.now()
        item: dict[str, Any] = {
            "id": msg.wamid,
            "status": status,
            "timestamp": str(int(ts)),
            "recipient_id": msg.wa_id,
        }
        customer = self.world.customers.get(msg.wa_id)
        if customer is not None and customer.user_id:
            item["recipient_user_id"] = customer.user_id
        if msg.biz_opaque_callback_data is not None:
            item["biz_opaque_callback_data"] = msg.biz_opaque_callback_data
        priced = status == "sent" or (
            status in ("delivered", "read") and not ({"delivered", "read"} & set(msg.emitted_statuses[:-1]))
        )
        if priced and status != "failed":
            if msg.conversation is not None:
                conversation = dict(msg.conversation)
                if status != "sent":
                    conversation.pop("expiration_timestamp", None)
                item["conversation"] = conversation
            if msg.pricing is not None:
                item["pricing"] = dict(msg.pricing)
        if errors:
            item["errors"] = errors
        value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": self.world.metadata(number)}
        if customer is not None and customer.user_id:
            # BSUID era (2026): statuses name the user in `contacts` too, as pywa 4.5 expects.
            value["contacts"] = [{"wa_id": msg.wa_id, "user_id": customer.user_id}]
        value["statuses"] = [item]
        self.emit(msg.phone_number_id, "messages", value, at=at)

    def schedule_progression(self, wamid: str) -> None:
        """After an accepted API send: ``sent`` now, ``delivered`` (and ``read``) later on the clock."""
        msg = self.world.messages[wamid]
        customer = self.world.customers.get(msg.wa_id)
        self.world.clock.call_later(0.0, lambda: self.update_status(wamid, "sent"))
        if customer is None or not customer.on_whatsapp:
            return
        self.world.clock.call_later(
            self.world.config.delivery_delay, lambda: self.update_status(wamid, "delivered")
        )
        if self.world.config.auto_read_delay is not None:
            self.world.clock.call_later(
                self.world.config.auto_read_delay, lambda: self.update_status(wamid, "read")
            )
