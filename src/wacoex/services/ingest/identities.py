"""Who a fact is about: the number it came to, the contact and conversation it belongs to."""

from __future__ import annotations

from wacoex.domain import facts as f
from wacoex.domain.ids import digits, same_number
from wacoex.services.ingest.run import Run
from wacoex.services.ports import NumberRef


def number_of(run: Run, source: f.Source) -> NumberRef | None:
    pnid = source.phone_number_id
    if not pnid:
        display = digits(source.display_phone_number)
        found = run.repo.numbers_by_display(display) if display else []
        if len(found) == 1:
            return found[0]
        run.waiting_for.add(display or f"waba:{source.waba_id}")
        return None
    if pnid not in run.cache.numbers:
        run.cache.numbers[pnid] = run.repo.number_by_phone_number_id(pnid)
    number = run.cache.numbers[pnid]
    if number is None:
        run.waiting_for.add(pnid)
    return number


# -- identities ---------------------------------------------------------------------------


def conversation(
    run: Run,
    number: NumberRef,
    *,
    wa_id: str | None,
    user_id: str | None,
    profile_name: str | None = None,
    at: int,
    reported: bool = False,
) -> int | None:
    """The conversation with a counterparty, creating contact and conversation as needed.

    Returns None for the business's own number: it is never a contact.
    """
    identity = (number.id, wa_id, user_id)
    # Only a plain lookup is remembered: a name (or a reported wa_id) is the store's to judge,
    # newest first, whichever identity of the person last set it.
    plain = profile_name is None and not reported
    if plain and identity in run.cache.identities:
        return run.cache.identities[identity]
    conv = _resolve_conversation(run, number, wa_id, user_id, profile_name, at, reported)
    run.cache.identities[identity] = conv
    return conv


def _resolve_conversation(
    run: Run,
    number: NumberRef,
    wa_id: str | None,
    user_id: str | None,
    profile_name: str | None,
    at: int,
    reported: bool,
) -> int | None:
    phone = digits(wa_id)
    if phone and same_number(phone, number.display_phone_number):
        return None
    if not phone and not user_id:
        return None
    key = (number.id, user_id or phone)
    contact_id = run.cache.contacts.get(key) if profile_name is None and not reported else None
    if contact_id is None:
        merges = run.repo.merges
        contact_id = run.repo.resolve_contact(
            number.id,
            wa_id=phone or None,
            user_id=user_id,
            profile_name=profile_name,
            at=at,
            reported=reported,
        )
        if run.repo.merges != merges:
            # Two contacts were one person: ids remembered so far may name the one merged away.
            run.cache.clear()
        run.cache.contacts[key] = contact_id
    ckey = (number.id, contact_id)
    conv = run.cache.conversations.get(ckey)
    if conv is None:
        conv = run.cache.conversations[ckey] = run.repo.conversation_for(number.id, contact_id, run.now)
    return conv
