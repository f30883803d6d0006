"""Edits, revokes and reactions: applied to the message they target, idempotent and ordered by time.

A mutation can arrive before its message (webhooks are not ordered): it then waits on a placeholder
row for the target and is applied when the message is filled in.
"""

from __future__ import annotations

from typing import Any

from wacoex.domain import events as ev
from wacoex.domain import limits
from wacoex.domain.enums import Direction, Origin
from wacoex.services.ingest.run import Run
from wacoex.services.ports import EventRow, ExistingMessage, NumberRef


def mutate(run: Run, number: NumberRef, kind: str, content: Any, wamid: str, at: int, *, by: str) -> None:
    """Apply an edit, revoke or reaction to the message it targets (a placeholder if not seen yet)."""
    content = content if isinstance(content, dict) else {}
    target = target_of(content)
    if not target:
        run.repo.record_unknown(
            run.receipt.id,
            None,
            number.phone_number_id,
            f"{kind} without a target message",
            content,
            run.now,
        )
        return
    mutation = {"kind": kind, "wamid": wamid, "at": at, "by": by, "content": content}
    existing = run.repo.existing_messages(number.id, [target]).get(target)
    if existing is None:
        # The original has not arrived yet (reordering): keep the mutation on a placeholder.
        row = dict(
            number_id=number.id,
            conversation_id=None,
            wamid=target,
            direction=Direction.UNKNOWN,
            origin=Origin.UNKNOWN,
            type="unknown",
            received_at=run.receipt.received_at,
            placeholder=True,
            pending_edit=[mutation],
        )
        run.repo.insert_messages([row])
        return
    if existing.placeholder:
        pending = list(existing.pending_edit or [])
        if not any(p.get("wamid") == wamid for p in pending):
            pending.append(mutation)
            run.repo.update_message(existing.id, {"pending_edit": pending})
        return
    apply_mutation(run, number, existing, mutation)


def target_of(content: dict[str, Any]) -> str | None:
    """The wamid an edit, revoke or reaction targets; None when it names none we could store.

    A number is read as its digits (so the same body applies the same way twice); an object, a list
    or an id longer than a wamid can be is no target.
    """
    target = content.get("original_message_id") or content.get("message_id")
    if type(target) is int:
        target = str(target)
    if type(target) is not str or not target or len(target) > limits.WAMID:
        return None
    return target


def apply_pending(run: Run, number: NumberRef, message: ExistingMessage, pending: Any) -> None:
    for mutation in sorted(pending or [], key=lambda m: m.get("at") or 0):
        apply_mutation(run, number, message, mutation)
    run.repo.update_message(message.id, {"pending_edit": None})


def apply_mutation(run: Run, number: NumberRef, message: ExistingMessage, mutation: dict[str, Any]) -> None:
    """Apply one edit/revoke/reaction; applying the same one again changes nothing and records nothing."""
    kind, content, at = mutation["kind"], mutation["content"], mutation["at"]
    about = {
        "phone_number_id": number.phone_number_id,
        "wamid": mutation["wamid"],
        "target": target_of(content),
        "by": mutation["by"],
    }
    if kind == "revoke":
        if message.revoked:
            return
        message.revoked = True
        run.repo.update_message(message.id, {"revoked": True, "revoked_at": at})
        run.events.append(
            EventRow(ev.MessageRevoked(**about), number.id, message.conversation_id, message.id)
        )
    elif kind == "edit":
        if message.edited_at is not None and message.edited_at >= at:
            return  # this edit, or a newer one, is already applied
        new = content.get("message") if isinstance(content.get("message"), dict) else {}
        new_type = new.get("type")
        if type(new_type) is not str or not new_type or len(new_type) > limits.MESSAGE_TYPE:
            new_type = message.type
        new_content = new.get(new_type)
        text = None
        if isinstance(new_content, dict):
            text = new_content.get("body") or new_content.get("caption")
            text = text if type(text) is str else None
        values: dict[str, Any] = {"edited": True, "edited_at": at}
        if new_content is not None:
            values.update(type=new_type, content=new_content, text=text)
        message.edited_at = at
        run.repo.update_message(message.id, values)
        run.events.append(
            EventRow(ev.MessageEdited(**about, text=text), number.id, message.conversation_id, message.id)
        )
    elif kind == "reaction":
        by = mutation["by"]
        reacted_at = dict(message.reactions_at or {})
        if reacted_at.get(by, -1) >= at:
            return  # this reaction, or a newer one from the same person, is already applied
        reactions = dict(message.reactions or {})
        emoji = content.get("emoji")
        emoji = emoji if type(emoji) is str else ""
        if emoji:
            reactions[by] = emoji
        else:
            reactions.pop(by, None)  # an empty emoji removes the reaction
        reacted_at[by] = at
        message.reactions, message.reactions_at = reactions or None, reacted_at
        run.repo.update_message(message.id, {"reactions": reactions or None, "reactions_at": reacted_at})
        run.events.append(
            EventRow(ev.MessageReaction(**about, emoji=emoji), number.id, message.conversation_id, message.id)
        )
