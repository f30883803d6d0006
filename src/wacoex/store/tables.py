"""SQLAlchemy Core tables: the unified record. Times are Unix epoch milliseconds (BIGINT)."""

from __future__ import annotations

import sqlalchemy as sa

from wacoex.domain import limits
from wacoex.domain.access import DEFAULT_WORKSPACE_ID as DEFAULT_WORKSPACE_ID

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON(none_as_null=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Numbers and API keys belong to a workspace; a single-workspace install lives in workspace 1,
# "default", which migration 0009 creates (and every number and key it finds joins it).
workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

numbers = sa.Table(
    "numbers",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("phone_number_id", sa.String(64), nullable=False, unique=True),
    sa.Column("display_phone_number", sa.String(32), nullable=False),
    sa.Column("waba_id", sa.String(64), nullable=False),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("coexistence", sa.Boolean, nullable=False, default=False),
    sa.Column("state", sa.String(16), nullable=False, default="connected"),
    sa.Column("state_reason", sa.String(limits.ACCOUNT_REASON)),
    sa.Column("state_initiated_by", sa.String(limits.INITIATED_BY)),
    sa.Column("state_changed_at", sa.BigInteger),  # Meta's time of the event that set the state
    sa.Column("access_token", sa.Text),
    sa.Column("history_state", sa.String(16), nullable=False, default="none"),
    sa.Column("history_error", Json),
    sa.Column("history_declined_at", sa.BigInteger),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("workspace_id", sa.BigInteger, nullable=False, server_default=str(DEFAULT_WORKSPACE_ID)),
    # Sends per second for this number; NULL: the settings' default for coexistence or other numbers.
    sa.Column("send_rate", sa.Float),
    # When a webhook about the number was last received, to the minute (migration 0010).
    sa.Column("last_webhook_at", sa.BigInteger),
    # The owner said "I opened the app" (a heartbeat the gateway cannot observe; migration 0011).
    sa.Column("heartbeat_ack_at", sa.BigInteger),
    # Meta's answer to GET /{phone_number_id}?fields=is_on_biz_app,platform_type, and when (0011).
    sa.Column("is_on_biz_app", sa.Boolean),
    sa.Column("platform_type", sa.String(32)),
    sa.Column("biz_app_checked_at", sa.BigInteger),
    sa.Column("throughput_level", sa.String(32)),  # GET ?fields=throughput: its level
    sa.Column("quality_rating", sa.String(16)),  # GREEN | YELLOW | RED | UNKNOWN
    sa.Index("ix_numbers_workspace", "workspace_id"),
    # One number per display number: webhooks and history are matched by it too (migration 0006).
    sa.Index("uq_numbers_display_phone_number", "display_phone_number", unique=True),
)

receipts = sa.Table(
    "receipts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(24), nullable=False),  # meta | 360dialog
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),  # bytes of the body
    sa.Column("received_at", sa.BigInteger, nullable=False),
    # pending -> done | parked | held (waits for an unregistered number) ; retried while pending
    sa.Column("state", sa.String(12), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Column("waiting_for", Json),  # phone_number_ids / display numbers not registered yet
    sa.Column("facts", sa.Integer),
    sa.Column("applied_at", sa.BigInteger),
    # units already applied by an unfinished application that ran out of its lock budget
    sa.Column("progress", sa.Integer),
    sa.Index("ix_receipts_queue", "state", "next_attempt_at", "id"),
    sa.Index("ix_receipts_sha", "body_sha256"),
)

# A receipt's body (up to a few MB) apart from its state: marking a receipt done, retrying or parking
# it rewrites only the small `receipts` row, never the body (migration 0008).
receipt_bodies = sa.Table(
    "receipt_bodies",
    metadata,
    sa.Column("receipt_id", BigId, sa.ForeignKey("receipts.id"), primary_key=True, autoincrement=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id"), nullable=False),
    sa.Column("wa_id", sa.String(limits.PHONE_DIGITS)),
    sa.Column("phone_key", sa.String(limits.PHONE_DIGITS)),
    sa.Column("user_id", sa.String(limits.USER_ID)),  # BSUID
    sa.Column("profile_name", sa.Text),
    sa.Column("profile_name_at", sa.BigInteger),
    sa.Column("book_full_name", sa.Text),
    sa.Column("book_first_name", sa.Text),
    sa.Column("book_updated_at", sa.BigInteger),  # metadata.timestamp of the newest add/remove applied
    sa.Column("book_removed", sa.Boolean, nullable=False, default=False),
    sa.Column("operator_name", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # Meta's time of the user_changed_number that set phone_key (NULL: never changed): the newest wins
    sa.Column("phone_changed_at", sa.BigInteger),
    sa.Index(
        "uq_contacts_number_phone",
        "number_id",
        "phone_key",
        unique=True,
        sqlite_where=sa.text("phone_key IS NOT NULL"),
        postgresql_where=sa.text("phone_key IS NOT NULL"),
    ),
    sa.Index(
        "uq_contacts_number_user",
        "number_id",
        "user_id",
        unique=True,
        sqlite_where=sa.text("user_id IS NOT NULL"),
        postgresql_where=sa.text("user_id IS NOT NULL"),
    ),
)

# Numbers a contact had before a user_changed_number: late or reordered webhooks from them still
# reach the same contact (looked up after contacts.phone_key).
contact_aliases = sa.Table(
    "contact_aliases",
    metadata,
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id"), primary_key=True),
    sa.Column("phone_key", sa.String(32), primary_key=True),
    sa.Column("contact_id", sa.BigInteger, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("wa_id", sa.String(32)),  # the old number as WhatsApp spelled it
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_contact_aliases_contact", "contact_id"),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id"), nullable=False),
    sa.Column("contact_id", sa.BigInteger, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("last_message_at", sa.BigInteger),  # newest occurred_at of any message
    sa.Column("last_live_at", sa.BigInteger),  # newest occurred_at of a non-history message
    sa.Column("last_customer_at", sa.BigInteger),  # newest customer message after onboarding
    sa.Column("window_expires_at", sa.BigInteger),
    sa.Column("unread_count", sa.Integer, nullable=False, default=0),
    sa.Column("message_count", sa.Integer, nullable=False, default=0),
    sa.Column("history_count", sa.Integer, nullable=False, default=0),
    sa.Column("last_echo_at", sa.BigInteger),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # Takeover (docs/api.md, "Takeover"): an echo newer than the last release puts the conversation in
    # human hands for the configured time; an operator may also take it until a given time.
    sa.Column("takeover_until", sa.BigInteger),  # taken by an operator through the API, until then
    sa.Column("takeover_released_at", sa.BigInteger),  # echoes older than this never re-take
    sa.Column("takeover_announced_at", sa.BigInteger),  # newest takeover start recorded as an event
    sa.Column("takeover_ended_at", sa.BigInteger),  # newest takeover end recorded as an event
    # The window: a send answered 131047 closes it until the customer writes again; a send within 24 h
    # of a click-to-WhatsApp referral opens the 72 h free entry point.
    sa.Column("window_closed_at", sa.BigInteger),
    sa.Column("fep_expires_at", sa.BigInteger),
    sa.UniqueConstraint("number_id", "contact_id", name="uq_conversations_number_contact"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id"), nullable=False),
    sa.Column("conversation_id", sa.BigInteger, sa.ForeignKey("conversations.id")),
    sa.Column("wamid", sa.String(limits.WAMID), nullable=False),
    sa.Column("direction", sa.String(10), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("type", sa.String(limits.MESSAGE_TYPE), nullable=False),
    sa.Column("content", Json),
    sa.Column("text", sa.Text),
    sa.Column("occurred_at", sa.BigInteger),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16)),
    sa.Column("status_at", sa.BigInteger),
    sa.Column("errors", Json),
    sa.Column("pricing", Json),
    sa.Column("reply_to", sa.String(limits.WAMID)),
    sa.Column("edited", sa.Boolean, nullable=False, default=False),
    sa.Column("edited_at", sa.BigInteger),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.Column("revoked_at", sa.BigInteger),
    sa.Column("reactions", Json),
    sa.Column("reactions_at", Json),  # per reactor, the time of the reaction applied (newest wins)
    sa.Column("history_status", sa.String(limits.HISTORY_STATUS)),
    sa.Column("placeholder", sa.Boolean, nullable=False, default=False),
    sa.Column("media_id", sa.String(limits.MEDIA_ID)),
    # not_fetched | link | awaiting (history placeholder) | pending | stored | failed
    sa.Column("media_state", sa.String(16)),
    sa.Column("media_sha256", sa.String(64)),
    sa.Column("media_error", sa.Text),
    sa.Column("media_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("media_next_at", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("note", sa.Text),  # an explanation for the operator (unsupported messages, ...)
    sa.Column("referral", Json),
    sa.Column("pending_edit", Json),  # an edit/revoke that arrived before its original
    sa.UniqueConstraint("number_id", "wamid", name="uq_messages_number_wamid"),
    # Partial: only media still to download is indexed, so ordinary messages skip this index.
    sa.Index(
        "ix_messages_media_due",
        "media_next_at",
        sqlite_where=sa.text("media_state = 'pending'"),
        postgresql_where=sa.text("media_state = 'pending'"),
    ),
)

# The orders the read API pages by, as expressions the database maintains itself (no column for the
# apply to write) and indexes on exactly those expressions, so a page is an index range on either
# engine, never a sort (migration 0008). Queries must spell the order with these very expressions.
# Alembic's batch mode on SQLite does not reflect expression indexes: a migration that recreates
# `conversations` or `messages` there must create these two again.
CONVERSATION_SORT_AT = sa.func.coalesce(conversations.c.last_message_at, sa.literal_column("0"))
MESSAGE_SORT_AT = sa.func.coalesce(messages.c.occurred_at, messages.c.received_at)
sa.Index("ix_conversations_activity", conversations.c.number_id, CONVERSATION_SORT_AT, conversations.c.id)
sa.Index("ix_messages_timeline_at", messages.c.conversation_id, MESSAGE_SORT_AT, messages.c.wamid)

history_phases = sa.Table(
    "history_phases",
    metadata,
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id"), primary_key=True),
    sa.Column("phase", sa.Integer, primary_key=True),
    sa.Column("chunks", Json, nullable=False),  # sorted list of chunk_order values seen
    sa.Column("progress", sa.Integer, nullable=False, default=0),
    sa.Column("messages_imported", sa.Integer, nullable=False, default=0),
    sa.Column("threads", sa.Integer, nullable=False, default=0),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

account_events = sa.Table(
    "account_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id"), nullable=False),
    sa.Column("event", sa.String(limits.ACCOUNT_EVENT), nullable=False),
    sa.Column("occurred_at", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(limits.ACCOUNT_REASON)),
    sa.Column("initiated_by", sa.String(limits.INITIATED_BY)),
    sa.Column("applied", sa.Boolean, nullable=False),  # False: stale (older than the number's state)
    sa.Column("raw", Json),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("number_id", "event", "occurred_at", name="uq_account_events_dedup"),
)

# What a person must see about a number (domain/alerts.py): opened by an account_update event (its
# `account_events` row, so a duplicate opens nothing), resolved by a newer alert of the same kind or
# by a reconnection (migration 0010).
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),  # info | warning | critical
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", Json),
    sa.Column("opened_at", sa.BigInteger, nullable=False),  # Meta's time of the event that opened it
    sa.Column("resolved_at", sa.BigInteger),  # NULL: open
    sa.Column("source_event_id", sa.BigInteger, sa.ForeignKey("account_events.id")),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("source_event_id", name="uq_alerts_source_event_id"),
    sa.Index("ix_alerts_number_open", "number_id", "resolved_at"),
)

# One row per onboarding of a number (Embedded Signup, a command, 360dialog, or a reconnection Meta
# reported); the current one has no ended_at. Its syncs are one-shot (domain/onboarding.py).
onboardings = sa.Table(
    "onboardings",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id"), nullable=False),
    sa.Column("source", sa.String(24), nullable=False),  # embedded_signup | command | 360dialog | reconnected
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("deadline_at", sa.BigInteger, nullable=False),  # the syncs' 24 hours end here
    sa.Column("ended_at", sa.BigInteger),  # a newer onboarding replaced it
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_onboardings_number", "number_id", "ended_at"),
)

# The persisted intent of each one-shot sync: written before the request leaves.
sync_requests = sa.Table(
    "sync_requests",
    metadata,
    sa.Column("onboarding_id", sa.BigInteger, sa.ForeignKey("onboardings.id"), primary_key=True),
    sa.Column("kind", sa.String(24), primary_key=True),  # smb_app_state_sync | history
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("request_id", sa.String(128)),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("attempted_at", sa.BigInteger),  # when the last request left
    sa.Column("answered_at", sa.BigInteger),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False, default=0),
    sa.Column("seen_at", sa.BigInteger),  # its first webhook (confirms it)
    sa.Column("error_code", sa.Integer),
    sa.Column("error_message", sa.Text),
    sa.Index("ix_sync_requests_state", "state", "next_attempt_at"),
    sa.Index("ix_sync_requests_number", "number_id", "kind"),
)

media_files = sa.Table(
    "media_files",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("mime_type", sa.String(128)),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id")),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("conversation_id", sa.BigInteger),
    sa.Column("message_id", sa.BigInteger),
    sa.Column("payload", Json, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_events_number", "number_id", "id"),
)

unknown_items = sa.Table(
    "unknown_items",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("receipt_id", sa.BigInteger, sa.ForeignKey("receipts.id"), nullable=False),
    sa.Column("field", sa.String(limits.LABEL)),
    sa.Column("phone_number_id", sa.String(limits.LABEL)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw", Json),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_unknown_items_receipt", "receipt_id"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("key_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger),
    sa.Column("workspace_id", sa.BigInteger, nullable=False, server_default=str(DEFAULT_WORKSPACE_ID)),
    sa.Column("role", sa.String(16), nullable=False, server_default="admin"),  # domain.access.Role
)

# Message templates as the provider lists them, synced per WABA (docs/api.md, "Templates").
templates = sa.Table(
    "templates",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("waba_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("category", sa.String(32)),
    sa.Column("parameter_format", sa.String(16)),
    sa.Column("provider_id", sa.String(64)),
    sa.Column("components", Json),
    sa.Column("synced_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("waba_id", "name", "language", name="uq_templates_waba_name_language"),
)

# Every send we were asked for, from acceptance to the provider's answer (docs/api.md, "Sending").
# state: queued -> sending -> sent | failed | ambiguous ; refused (policy) is answered, not stored.
sends = sa.Table(
    "sends",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.BigInteger, nullable=False),
    sa.Column("number_id", sa.BigInteger, sa.ForeignKey("numbers.id"), nullable=False),
    sa.Column("conversation_id", sa.BigInteger),
    sa.Column("idempotency_key", sa.String(255)),
    sa.Column("request_sha256", sa.String(64), nullable=False),  # same key, other body: refused
    sa.Column("key_id", sa.BigInteger),  # the API key that asked (NULL: the settings' admin key)
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("route", sa.String(8), nullable=False),  # api | graph | inbox
    sa.Column("to_input", sa.String(64), nullable=False),
    sa.Column("wa_id", sa.String(limits.PHONE_DIGITS)),
    sa.Column("type", sa.String(limits.MESSAGE_TYPE), nullable=False),
    sa.Column("body", Json, nullable=False),  # the Cloud API body sent (or to send)
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("queued", sa.Boolean, nullable=False),  # asked with "queue": true (answered 202)
    sa.Column("wamid", sa.String(limits.WAMID)),
    sa.Column("message_id", sa.BigInteger),
    sa.Column("response", Json),  # the provider's answer (success or error body)
    sa.Column("error_code", sa.String(64)),
    sa.Column("graph_code", sa.Integer),
    sa.Column("error_message", sa.Text),
    sa.Column("category", sa.String(32)),  # pricing category estimated before sending
    sa.Column("estimated_cost", sa.Float),
    sa.Column("currency", sa.String(3)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("sent_at", sa.BigInteger),
    sa.Index(
        "uq_sends_workspace_idempotency",
        "workspace_id",
        "idempotency_key",
        unique=True,
        sqlite_where=sa.text("idempotency_key IS NOT NULL"),
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    ),
    sa.Index(
        "ix_sends_due",
        "next_attempt_at",
        "id",
        sqlite_where=sa.text("state = 'queued'"),
        postgresql_where=sa.text("state = 'queued'"),
    ),
    sa.Index("ix_sends_number_wamid", "number_id", "wamid"),
    sa.Index("ix_sends_number_state", "number_id", "state"),
)
