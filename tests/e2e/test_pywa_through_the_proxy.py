"""pywa 4.5, unmodified, sends through wacoex's Graph-compatible proxy: only its base URL (the host
graph.facebook.com routed to the gateway, through httpx's public mount API) and its token (a wacoex
API key) change. Text, media by upload and by link, a template, and a read receipt reach the emulator,
and the gateway records each sent message."""

from __future__ import annotations

import httpx
import pytest
from pywa import WhatsApp
from pywa import errors as pywa_errors
from pywa.types.templates import BodyText, TemplateLanguage

from tests.e2e.test_sending_against_emulator import ANA, PNID, WABA, Rig, rig  # noqa: F401 - the fixture
from tests.emulator.test_pywa_compat import ToEmulator

pytestmark = [pytest.mark.e2e]

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def test_pywa_sends_text_media_and_a_template_through_the_proxy(rig: Rig) -> None:  # noqa: F811
    _, operator_key = rig.container.admin.create_api_key("pywa", role="operator")
    # graph.facebook.com -> the gateway (the path stays /v23.0/{phone_number_id}/...).
    session = httpx.Client(mounts={"https://graph.facebook.com": ToEmulator(rig.gw_url)})
    wa = WhatsApp(phone_id=PNID, token=operator_key, api_version="23.0", session=session)
    rig.clients.append(session)

    with pytest.raises(pywa_errors.ReEngagementMessage):  # 131047, answered by the gateway itself
        wa.send_message(to=ANA, text="too early")
    assert rig.sent_by_api(ANA) == []

    inbound = rig.customer_writes(ANA, "Can I see the blue one?")
    text = wa.send_message(to=ANA, text="Here it is:")
    uploaded = wa.send_image(to=ANA, image=JPEG, mime_type="image/jpeg", caption="Blue, uploaded")
    linked = wa.send_image(to=ANA, image="https://example.com/blue.jpg", caption="Blue, by link")
    rig.emu.post(
        "/templates",
        json={
            "waba_id": WABA,
            "name": "back_in_stock",
            "language": "en_US",
            "category": "MARKETING",
            "components": [{"type": "BODY", "text": "{{1}} is back in stock."}],
        },
    ).raise_for_status()
    template = wa.send_template(
        to=ANA,
        name="back_in_stock",
        language=TemplateLanguage.ENGLISH_US,
        params=[BodyText.params("The blue one")],
    )
    assert wa.mark_message_as_read(inbound).success

    sent = {m["wamid"]: m for m in rig.sent_by_api(ANA)}
    assert set(sent) == {text.id, uploaded.id, linked.id, template.id}
    assert sent[uploaded.id]["type"] == sent[linked.id]["type"] == "image"
    assert sent[template.id]["type"] == "template"
    for wamid in sent:
        rig.until(lambda w=wamid: (rig.message(w) or {}).get("origin") == "api", f"{wamid} recorded")
    assert rig.message(template.id)["text"] == "The blue one is back in stock."  # type: ignore[index]
