"""Message templates: synced from the number's provider, looked up by sends.

A send naming a template we do not know syncs the WABA's templates once (at most every
`MISS_SYNC_MS`) before it is refused, so a template created in WhatsApp Manager a minute ago works
without an explicit sync.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from wacoex.domain.templates import Template
from wacoex.errors import ProviderError
from wacoex.services.provider_port import Provider
from wacoex.services.send_port import SendingNumber, TemplateStore

log = logging.getLogger("wacoex.templates")

MISS_SYNC_MS = 60_000


def template_from_graph(waba_id: str, item: Mapping[str, Any]) -> Template | None:
    """A template as `GET /{waba_id}/message_templates` lists it; None when it names no template."""
    name, language = item.get("name"), item.get("language")
    if not isinstance(name, str) or not isinstance(language, str):
        return None
    components = item.get("components")
    return Template(
        waba_id=waba_id,
        name=name,
        language=language,
        status=str(item.get("status") or "UNKNOWN").upper(),
        category=str(item["category"]).lower() if item.get("category") else None,
        parameter_format=str(item["parameter_format"]).upper() if item.get("parameter_format") else None,
        components=[c for c in components if isinstance(c, Mapping)] if isinstance(components, list) else [],
    )


class Templates:
    def __init__(self, store: TemplateStore, provider: Provider, clock: Callable[[], int]) -> None:
        self._store = store
        self._provider = provider
        self._clock = clock
        self._lock = threading.Lock()
        self._miss_synced: dict[str, int] = {}  # waba -> when a miss last synced it

    def sync(self, number: SendingNumber) -> int:
        """Fetch every template of the number's WABA and keep exactly those; how many."""
        listed = self._provider.templates(number.ref)
        waba = number.ref.waba_id
        found = [t for t in (template_from_graph(waba, item) for item in listed) if t is not None]
        return self._store.replace(waba, found, self._clock())

    def list(self, number: SendingNumber) -> list[Template]:
        return self._store.list(number.ref.waba_id)

    def synced_at(self, number: SendingNumber) -> int | None:
        return self._store.synced_at(number.ref.waba_id)

    def find(self, number: SendingNumber, name: str, language: str) -> Template | None:
        waba = number.ref.waba_id
        found = self._store.get(waba, name, language)
        if found is not None:
            return found
        now = self._clock()
        with self._lock:
            if now - self._miss_synced.get(waba, 0) < MISS_SYNC_MS:
                return None
            self._miss_synced[waba] = now
        try:
            self.sync(number)
        except ProviderError as exc:
            log.warning("templates of WABA %s could not be synced: %s", waba, exc.message)
            return None
        return self._store.get(waba, name, language)
