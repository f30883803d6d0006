"""The phone page: chat list, a chat as a device shows it, and a compose box that sends as the owner."""

from __future__ import annotations

import pytest

from tests.emulator import test_phone
from tests.emulator.test_phone import PABLO, PNID, Emulator

pytestmark = pytest.mark.anyio
anyio_backend, emu, onboarded = test_phone.anyio_backend, test_phone.emu, test_phone.onboarded


async def test_numbers_page_links_to_each_phone(onboarded: Emulator) -> None:
    page = await onboarded.client.get("/_emulator/ui")
    assert page.status_code == 200
    assert f"/_emulator/ui/numbers/{PNID}" in page.text


async def test_phone_page_shows_chats_and_compose_sends_an_echo(onboarded: Emulator) -> None:
    page = await onboarded.client.get(f"/_emulator/ui/numbers/{PNID}?chat={PABLO}")
    assert page.status_code == 200
    assert "Pablo Morales" in page.text
    assert "Thanks!" in page.text
    assert 'name="text"' in page.text
    sent = await onboarded.client.post(
        f"/_emulator/ui/numbers/{PNID}/send", data={"to": PABLO, "text": "typed <b>in</b> the page"}
    )
    assert sent.status_code == 303
    [echo] = onboarded.values("smb_message_echoes")
    assert echo["message_echoes"][0]["text"] == {"body": "typed <b>in</b> the page"}
    after = await onboarded.client.get(sent.headers["location"])
    assert "typed &lt;b&gt;in&lt;/b&gt; the page" in after.text


async def test_windows_view_shows_the_placeholder(onboarded: Emulator) -> None:
    await onboarded.ok(f"/_emulator/numbers/{PNID}/app/devices", {"action": "link", "kind": "windows"})
    page = await onboarded.client.get(f"/_emulator/ui/numbers/{PNID}?chat={PABLO}&device=windows")
    assert "only be viewed on your primary device" in page.text
    assert "Here&#39;s the info you requested!" not in page.text


async def test_unknown_number_page_is_404(emu: Emulator) -> None:
    assert (await emu.client.get("/_emulator/ui/numbers/404")).status_code == 404
