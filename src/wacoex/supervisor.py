"""`wacoex serve`'s apply process: a `wacoex worker` child it starts, restarts and stops.

Applying receipts is CPU-bound Python; in a thread of the web process it competes with the ingress
for the interpreter, and acknowledgements wait for it (docs/benchmarks.md). In a child process it
runs on the second core, and a crash of either part loses nothing: receipts are durable before the
200, and the worker's transactions are atomic.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from wacoex.config import Settings

log = logging.getLogger("wacoex.supervisor")

RESTART_MIN_SECONDS = 0.5
RESTART_MAX_SECONDS = 30.0
STOP_SECONDS = 30.0  # a worker stops within about its lock budget; this bounds a stuck one


def settings_env(settings: Settings) -> dict[str, str]:
    """WACOEX_* variables that rebuild `settings` in another process (the environment wins there)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        key = f"WACOEX_{name.upper()}"
        if value is None:
            # Unset stays unset: the string "None" would be read back as a value (a path named None).
            continue
        if isinstance(value, list | dict):
            env[key] = json.dumps(value)
        elif isinstance(value, bool):
            env[key] = "true" if value else "false"
        else:
            env[key] = str(value)
    return env


class WorkerProcess:
    """Keeps one `wacoex worker` child running until `stop()`; restarts it with backoff if it dies."""

    def __init__(self, settings: Settings, *, command: list[str] | None = None) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("WACOEX_")}
        self._env = {**base, **settings_env(settings)}
        self._env.pop("WACOEX_CONFIG", None)  # everything the file said is in the variables already
        self._command = command or [sys.executable, "-m", "wacoex", "worker", "--supervised"]
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="wacoex-worker-supervisor", daemon=True)
            self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Its own process group: a Ctrl-C in the terminal reaches serve, which stops the worker
        # after the web part has stopped taking requests, instead of both at once.
        # stdin is a pipe only we hold: when this process ends, even by SIGKILL, the worker sees EOF.
        return subprocess.Popen(self._command, env=self._env, stdin=subprocess.PIPE, start_new_session=True)

    def _run(self) -> None:
        delay = RESTART_MIN_SECONDS
        while not self._stopping.is_set():
            proc = self._proc = self._spawn()
            if self._stopping.is_set():  # stop() ran while it was starting
                proc.terminate()
                proc.wait()
                return
            code = proc.wait()
            if proc.stdin is not None:
                proc.stdin.close()
            if self._stopping.is_set():
                return
            self.restarts += 1
            log.error("the apply worker exited with code %s; restarting in %.1f s", code, delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, RESTART_MAX_SECONDS)

    def stop(self) -> None:
        """Ask the worker to finish its transaction and exit (SIGTERM); kill it after STOP_SECONDS."""
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.error("the apply worker did not stop in %.0f s; killing it", STOP_SECONDS)
                proc.kill()
                proc.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()

    def __enter__(self) -> WorkerProcess:
        self.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()
