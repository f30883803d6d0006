"""Shared pieces of the gateway benchmarks: the machine, payloads, servers in subprocesses, results.

Scripts in this folder import it as `common` (they run as `python benchmarks/<script>.py`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH = Path(__file__).resolve().parent

APP_SECRET = "bench-app-secret-7f3a"
VERIFY_TOKEN = "bench-verify-token"
ADMIN_KEY = "bench-admin-key-5e1d"  # `wacoex serve` wants 16 characters or more
PNID = "106540352242922"
BUSINESS = "15550783881"
WABA = "102290129340398"


# -- the machine ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    import wacoex

    code = Path(wacoex.__file__).resolve().parent
    commit = os.environ.get("WACOEX_BENCH_COMMIT", "")
    if not commit:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            git = ["git", "-C", str(code)]
            head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, check=True)
            commit = head.stdout.decode().strip()
            dirty = subprocess.run([*git, "status", "--porcelain", "."], capture_output=True, check=True)
            if dirty.stdout.strip():
                commit += " + uncommitted changes"
    return {
        "code": f"{code} ({commit or 'unknown commit'})",
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": ram,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident set size (VmHWM) of a process, in MB (10^6 bytes)."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


# -- payloads ------------------------------------------------------------------------------------


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def customer(i: int) -> str:
    return f"1650555{i % 10_000_000:07d}"


def bsuid(wa_id: str) -> str:
    """The business-scoped user id Meta adds to `contacts[]` since 2026 (spec §2.7)."""
    return f"US.{int(wa_id) * 7 % 10**16:016d}"


def wamid(kind: str, n: int) -> str:
    """A wamid-shaped id, unique per (kind, n)."""
    return f"wamid.HBgL{kind}MTY1MDU1NTEyMzQVAgASGBQzQTFF{n:014d}QkU4RjQyMUQA"


def _envelope(field: str, value: dict[str, Any], *, time_: int = 1739230955) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS, "phone_number_id": PNID},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA, "time": time_, "changes": [{"value": value, "field": field}]}],
    }


def inbound_message(n: int, frm: str, ts: int) -> dict[str, Any]:
    return {
        "from": frm,
        "id": wamid("IN", n),
        "timestamp": str(ts),
        "type": "text",
        "text": {"body": f"Hi! Is order #{n} ready for pickup? I can come by the shop after 5pm today."},
    }


def single_message_webhook(n: int) -> bytes:
    """A realistic webhook as Meta sends it for one customer text message (about 500 bytes)."""
    frm = customer(n % 5000)
    ts = 1739230955 + n
    value = {
        "contacts": [{"profile": {"name": f"Customer {n % 5000}"}, "wa_id": frm, "user_id": bsuid(frm)}],
        "messages": [inbound_message(n, frm, ts)],
    }
    return orjson.dumps(_envelope("messages", value, time_=ts))


# -- subprocess servers --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server in a subprocess on 127.0.0.1; stopped with SIGINT (uvicorn's graceful shutdown)."""

    cmd: list[str]
    env: dict[str, str]
    port: int
    health: str
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}{self.health}", timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not come up in {timeout}s:\n{self.log.read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def gateway_env(db_url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WACOEX_")}
    env.update(
        WACOEX_DATABASE_URL=db_url,
        WACOEX_APP_SECRETS=APP_SECRET,
        WACOEX_VERIFY_TOKEN=VERIFY_TOKEN,
        WACOEX_ADMIN_API_KEY=ADMIN_KEY,
        WACOEX_SECRET_KEY="bench-secret-key-for-provider-tokens-0123",
        WACOEX_MEDIA_DIR=str(workdir / "media"),
        WACOEX_FETCH_MEDIA="false",
    )
    return env


def prepare_database(db_url: str) -> None:
    """Create the schema and register the benchmark's business number (as `wacoex numbers add` does)."""
    from wacoex.store.engine import make_engine, upgrade
    from wacoex.store.numbers import add_number

    upgrade(db_url)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        add_number(
            conn,
            phone_number_id=PNID,
            display_phone_number=BUSINESS,
            waba_id=WABA,
            provider="meta",
            coexistence=True,
        )
    engine.dispose()


POSTGRES_ADMIN_URL = os.environ.get(
    "WACOEX_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextlib.contextmanager
def postgres_database(prefix: str = "wacoex_bench") -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one run; dropped afterwards (even if clients remain)."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{int(time.time() * 1000) % 10**9}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def database(engine: str, work: Path) -> Iterator[str]:
    """The URL of a fresh database: a SQLite file in `work`, or a new PostgreSQL database."""
    if engine == "postgres":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{work / 'wacoex.db'}"


@contextlib.contextmanager
def workdir(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="wacoex-bench-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def wacoex_server(
    work: Path, *, worker: bool, extra_args: list[str] | None = None, db_url: str | None = None
) -> Iterator[tuple[Server, str]]:
    """`wacoex serve` for real, on `db_url` (an empty database) or a fresh SQLite file in `work`."""
    db_url = db_url or f"sqlite:///{work / 'wacoex.db'}"
    prepare_database(db_url)
    port = free_port()
    wacoex = str(Path(PYTHON).parent / "wacoex")
    cmd = [wacoex, "serve", "--host", "127.0.0.1", "--port", str(port), *(extra_args or [])]
    if not worker:
        cmd.append("--no-worker")
    server = Server(cmd, gateway_env(db_url, work), port, "/healthz", work / "server.log")
    server.start()
    try:
        yield server, db_url
    finally:
        server.stop()


def http_json(port: int, path: str) -> Any:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=30).json()


# -- how busy the machine was --------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _busy_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (from /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def process_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its threads."""
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / _TICK


def children(pid: int) -> list[int]:
    """Live child processes of `pid` (the worker `wacoex serve` supervises)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def database_backends(db_url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the database of `db_url` (same machine)."""
    if not db_url.startswith("postgres"):
        return {}
    name = db_url.rsplit("/", 1)[-1].split("?", 1)[0]
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if title.startswith("postgres: ") and f" {name} " in title:
                found[int(entry.name)] = process_seconds(int(entry.name))
    return found


def backend_seconds(before: dict[int, float], db_url: str) -> float:
    """CPU seconds the database's backends used since `before` (backends started since count whole)."""
    after = database_backends(db_url)
    return sum(max(0.0, t - before.get(pid, 0.0)) for pid, t in after.items())


class CpuMeter:
    """How many cores the processes we measure used, and how many everything else on the machine used.

    The benchmarks share the machine with whatever else runs on it; figures taken while other work
    kept the cores busy are lower than the machine can do, and the report says so.
    """

    def __init__(self, *pids: int) -> None:
        self.pids = [os.getpid(), *pids]
        self.wall = time.perf_counter()
        self.busy = _busy_seconds()
        self.ours = sum(process_seconds(p) for p in self.pids)

    def stop(self, extra_seconds: float = 0.0) -> tuple[float, float]:
        """(our cores, other cores) averaged since start; `extra_seconds`: CPU used by exited children."""
        wall = time.perf_counter() - self.wall
        busy = _busy_seconds() - self.busy
        ours = sum(process_seconds(p) for p in self.pids) - self.ours + extra_seconds
        return ours / wall, max(0.0, busy - ours) / wall


# -- results -------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    value: str
    target: str = ""
    verdict: str = ""  # "met", "MISSED" or ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        self.rows.append(Row(name, value, target, verdict))

    def extend(self, other: Results) -> None:
        self.rows.extend(other.rows)
        self.notes.extend(other.notes)
        self.data.update(other.data)

    def table(self) -> str:
        head = ("Benchmark", "Result", "Target", "")
        cells = [head, *((r.name, r.value, r.target, r.verdict) for r in self.rows)]
        widths = [max(len(c[i]) for c in cells) for i in range(4)]
        lines = [
            "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells
        ]
        lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(lines)

    def print(self) -> None:
        print(self.table())
        for n in self.notes:
            print(f"- {n}")
