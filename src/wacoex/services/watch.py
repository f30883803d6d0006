"""The lifecycle checks of `wacoex serve`: the phone's heartbeat and what Meta says of the number.

Meta disconnects a coexistence number when the Business app has not been opened for about 14 days.
The gateway cannot see the app being opened, so it counts from the phone's last sign of life and
warns from the warning day (an `inactivity` alert, critical once overdue); the owner's "I opened the
app" acknowledgement resets the count. Every few hours it asks Meta whether the number is still on
the Business app and the Cloud API (`is_on_biz_app`, `platform_type`), and keeps its throughput level
and quality rating; a number Meta no longer reports as both raises a `biz_app` alert.
"""

from __future__ import annotations

from collections.abc import Callable

from wacoex.domain.access import Principal, Role
from wacoex.domain.alerts import Alert, AlertKind, Severity
from wacoex.domain.heartbeat import countdown, inactivity_alert
from wacoex.domain.onboarding import confirm_coexistence
from wacoex.errors import Forbidden, NotFound, ProviderError
from wacoex.services.onboarding_port import AccountApi, NumberAlerts
from wacoex.services.watch_port import Watched, WatchStore

HOUR_MS = 3_600_000
PASS_EVERY_MS = 10 * 60_000


class NumberWatch:
    def __init__(
        self,
        store: WatchStore,
        alerts: NumberAlerts,
        api: AccountApi,
        clock: Callable[[], int],
        *,
        cut_days: float,
        warning_days: float,
        check_every_ms: int,
    ) -> None:
        self._store = store
        self._alerts = alerts
        self._api = api
        self._clock = clock
        self._cut_days = cut_days
        self._warning_days = warning_days
        self._check_ms = check_every_ms
        self._last_pass: int | None = None

    name = "lifecycle"

    def run_once(self) -> bool:
        """The job's pass, at most every PASS_EVERY_MS of the clock (the countdown is in days and Meta
        is asked every few hours: a pass reads every watched number's conversations, so it is not run
        at every tick of the lifecycle loop); never asks to run again at once."""
        now = self._clock()
        if self._last_pass is None or now - self._last_pass >= PASS_EVERY_MS:
            self._last_pass = now
            self.check()
        return False

    def check(self) -> int:
        """One pass over the connected coexistence numbers; how many alerts it raised."""
        raised = 0
        for watched in self._store.connected():
            raised += self._heartbeat(watched)
            raised += self._status(watched)
        return raised

    def acknowledge(self, who: Principal, phone_number_id: str) -> int:
        """The owner says they opened the WhatsApp Business app: the countdown starts again."""
        if who.role not in (Role.ADMIN, Role.OPERATOR):
            raise Forbidden("acknowledging the phone's heartbeat needs an admin or operator key")
        now = self._clock()
        number = self._store.acknowledge(phone_number_id, who.workspace_id, now)
        if number is None:
            raise NotFound(f"number {phone_number_id} is not registered")
        self._alerts.clear(number.id, [AlertKind.INACTIVITY.value], now)
        return now

    def _heartbeat(self, w: Watched) -> int:
        now = self._clock()
        c = countdown(w.signs, now, cut_days=self._cut_days, warning_days=self._warning_days, counting=True)
        alert = inactivity_alert(c)
        if alert is None:
            if AlertKind.INACTIVITY.value in w.open_alerts:
                self._alerts.clear(w.number.id, [AlertKind.INACTIVITY.value], now)
            return 0
        return int(self._alerts.raise_alert(w.number, alert, now))

    def _status(self, w: Watched) -> int:
        now = self._clock()
        if not w.number.access_token or w.number.provider == "360dialog":
            return 0  # 360dialog's API key does not read Graph nodes
        if w.status_checked_at is not None and now - w.status_checked_at < self._check_ms:
            return 0
        try:
            found = self._api.number_status(w.number.phone_number_id, w.number.access_token)
        except ProviderError:
            return 0  # asked again on the next pass; a failure to ask says nothing of the number
        self._store.record_status(w.number.id, found, now)
        why_not = confirm_coexistence(found.is_on_biz_app, found.platform_type)
        if why_not is None:
            if AlertKind.BIZ_APP.value in w.open_alerts:
                self._alerts.clear(w.number.id, [AlertKind.BIZ_APP.value], now)
            return 0
        alert = Alert(
            AlertKind.BIZ_APP,
            Severity.CRITICAL,
            f"Meta no longer reports this number on both the WhatsApp Business app and the Cloud API "
            f"(is_on_biz_app {found.is_on_biz_app}, platform_type {found.platform_type}): it may have "
            "been disconnected, moved to the consumer app, or registered elsewhere. Sends may fail; ask "
            "the owner to check the app (Settings > Account > Business Platform).",
            {"is_on_biz_app": found.is_on_biz_app, "platform_type": found.platform_type},
        )
        return int(self._alerts.raise_alert(w.number, alert, now))
