"""Ack throughput and latency of `wacoex serve`: signed webhook POSTs acknowledged only once durable.

    .venv/bin/python benchmarks/bench_ack.py [--requests 20000] [--connections 64] [--rate 1000]
        [--seconds 10] [--rounds 3] [--variants bare,no-worker,worker,pywa]

Side by side in one run, `--rounds` times in turn (each figure is the median of the rounds):
- `bare`: a minimal ASGI app (read the body, answer 200, store nothing) under the same uvicorn
  settings `wacoex serve` uses (`web/server.py`: httptools with the HTTP limits, uvloop, no access
  log): the floor any Python ingress on this machine stands on;
- `no-worker`: `wacoex serve --no-worker` (ingress only: verify, group-commit the receipt, 200);
- `worker`: `wacoex serve`, the default, its `wacoex worker` child applying what arrives;
- `pywa`: pywa's own FastAPI webhook handler (bench_pywa.py), no persistence.
Each runs for real in a subprocess on 127.0.0.1 on a fresh SQLite file. The load comes from a second
process (`--loadgen`, below): raw HTTP/1.1 on keep-alive connections, each request a distinct
single-message webhook signed with X-Hub-Signature-256. Two loads: as fast as `--connections`
connections allow (POSTs/s), then an open-loop fixed rate (latency counted from each request's
intended send time). With the worker, the time from the last POST until every receipt is applied
is measured too. Afterwards the server is stopped and the number of stored receipts (and, with the
worker, messages) must equal the number of 200s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import common

TARGET_POSTS = 3000.0
TARGET_P99_MS = 25.0
TARGET_DRAIN_S = 10.0

# -- the load generator (runs in its own process) ------------------------------------------------


@dataclass
class Load:
    """What the load generator measured; latencies in milliseconds."""

    mode: str
    sent: int = 0
    seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    p50: float = 0.0
    p90: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    cpu_seconds: float = 0.0  # used by the load generator itself

    @property
    def ok(self) -> int:
        return self.statuses.get("200", 0)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with at most one request in flight."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        pos = head.find(b"content-length:")
        if pos < 0:
            self._fail(RuntimeError("response without content-length"))
            return
        line_end = head.find(b"\r\n", pos)
        length = int(head[pos + 15 : line_end if line_end >= 0 else len(head)])
        total = end + 4 + length
        if len(self.buf) < total:
            return
        del self.buf[:total]
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(int(head[9:12]))

    def _fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("connection closed"))

    async def request(self, data: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


def _requests(port: int, path: str, start: int, count: int) -> list[bytes]:
    """Distinct signed single-message webhooks, as raw HTTP requests."""
    out = []
    for n in range(start, start + count):
        body = common.single_message_webhook(n)
        head = (
            f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
            f"x-hub-signature-256: {common.sign(body)}\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


async def _load(args: argparse.Namespace) -> Load:
    loop = asyncio.get_running_loop()
    reqs = _requests(args.port, args.path, args.start, args.requests)
    conns: list[_Conn] = []
    for _ in range(args.connections):
        _transport, proto = await loop.create_connection(_Conn, "127.0.0.1", args.port)
        conns.append(proto)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    clock = time.perf_counter

    async def one(conn: _Conn, i: int, intended: float) -> None:
        nonlocal errors
        try:
            status = await conn.request(reqs[i])
        except (OSError, RuntimeError):
            errors += 1
            return
        latencies.append((clock() - intended) * 1000)
        statuses[str(status)] = statuses.get(str(status), 0) + 1

    cpu0 = _cpu()
    begin = clock()
    if args.rate <= 0:
        # Closed loop: every connection sends its next request as soon as the last one is answered.
        counter = iter(range(len(reqs)))

        async def worker(conn: _Conn) -> None:
            for i in counter:
                await one(conn, i, clock())

        await asyncio.gather(*(worker(c) for c in conns))
    else:
        # Open loop at a fixed rate; latency counts from the intended send time, so a server that
        # falls behind is charged for the queueing it causes (no coordinated omission).
        idle: asyncio.Queue[_Conn] = asyncio.Queue()
        for c in conns:
            idle.put_nowait(c)

        async def send(conn: _Conn, i: int, intended: float) -> None:
            await one(conn, i, intended)
            idle.put_nowait(conn)

        tasks: set[asyncio.Future[None]] = set()
        interval = 1.0 / args.rate
        for i in range(len(reqs)):
            intended = begin + i * interval
            delay = intended - clock()
            if delay > 0.0005:
                await asyncio.sleep(delay)
            conn = await idle.get()
            task = asyncio.ensure_future(send(conn, i, intended))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    seconds = clock() - begin
    cpu = _cpu() - cpu0
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    latencies.sort()
    return Load(
        mode="max" if args.rate <= 0 else f"{args.rate:g}/s",
        sent=len(reqs),
        seconds=seconds,
        statuses=statuses,
        errors=errors,
        p50=percentile(latencies, 50),
        p90=percentile(latencies, 90),
        p99=percentile(latencies, 99),
        max=latencies[-1] if latencies else float("nan"),
        cpu_seconds=cpu,
    )


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _loadgen_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="bench_ack.py --loadgen", description="HTTP load generator")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/webhooks/whatsapp")
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--rate", type=float, default=0.0, help="requests/s; 0 = as fast as possible")
    p.add_argument("--start", type=int, default=0, help="first message number (keeps wamids unique)")
    args = p.parse_args(argv)
    import uvloop

    uvloop.install()
    print(json.dumps(asyncio.run(_load(args)).__dict__))


def run_load(port: int, *, requests: int, connections: int, rate: float = 0.0, start: int = 0) -> Load:
    """Run the load generator in a second process against 127.0.0.1:`port` and return what it saw."""
    cmd = [common.PYTHON, __file__, "--loadgen", "--port", str(port), "--requests", str(requests)]
    cmd += ["--connections", str(connections), "--rate", str(rate), "--start", str(start)]
    out = subprocess.run(cmd, capture_output=True, timeout=900, check=False)
    if out.returncode:
        raise RuntimeError(f"load generator failed:\n{out.stderr.decode()[-3000:]}")
    return Load(**json.loads(out.stdout))


# -- measuring a server --------------------------------------------------------------------------


@dataclass
class Measurement:
    label: str
    max_load: Load
    rate_load: Load
    ok: int  # 200s over every load sent to this server, warm-up included
    server_cores: float  # the server and its children (the worker) during the max run
    other_cores: float  # every other process on the machine during the max run
    background: str
    check: dict[str, Any] = field(default_factory=dict)


def add_load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=20_000, help="POSTs in the max-throughput run")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections (max run)")
    parser.add_argument("--rate", type=float, default=1000.0, help="POSTs/s of the fixed-rate run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the fixed-rate run")
    parser.add_argument("--warmup", type=int, default=1000, help="POSTs sent before measuring")
    parser.add_argument(
        "--settle", type=float, default=60.0, help="seconds to wait for the worker's backlog (worker variant)"
    )


def measure_server(
    server: common.Server,
    args: argparse.Namespace,
    *,
    label: str,
    settle: Callable[[], object] | None = None,
) -> Measurement:
    """Warm up, run at max concurrency, (let `settle` catch up,) then run at the fixed rate."""
    warm = run_load(server.port, requests=args.warmup, connections=args.connections, start=0)
    pids = [server.pid, *common.children(server.pid)]
    meter = common.CpuMeter(*pids)
    server_cpu0 = sum(common.process_seconds(p) for p in pids)
    peak = run_load(server.port, requests=args.requests, connections=args.connections, start=10**7)
    ours, other = meter.stop(peak.cpu_seconds)
    server_cores = (sum(common.process_seconds(p) for p in pids) - server_cpu0) / peak.seconds
    if settle is not None:
        settle()
    steady = run_load(
        server.port,
        requests=int(args.rate * args.seconds),
        connections=args.connections,
        rate=args.rate,
        start=2 * 10**7,
    )
    bad = [f"{x.mode}: {x.statuses} errors={x.errors}" for x in (warm, peak, steady) if x.ok != x.sent]
    if bad:
        print(f"warning: {label}: not every POST got a 200: {bad}", file=sys.stderr)
    return Measurement(
        label=label,
        max_load=peak,
        rate_load=steady,
        ok=warm.ok + peak.ok + steady.ok,
        server_cores=server_cores,
        other_cores=other,
        background=f"server {server_cores:.2f} cores, load generator "
        f"{peak.cpu_seconds / peak.seconds:.2f}, other processes {other:.2f} (total {ours + other:.2f})",
    )


def _count(db_url: str, sql: str) -> int:
    path = db_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _wait_applied(db_url: str, timeout: float) -> float:
    """Seconds until the worker has applied every receipt (or `timeout`)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if _count(db_url, "SELECT count(*) FROM receipts WHERE state = 'pending'") == 0:
            break
        time.sleep(0.05)
    return time.perf_counter() - start


def run_wacoex(args: argparse.Namespace, *, worker: bool) -> Measurement:
    label = "wacoex serve" + ("" if worker else " --no-worker")
    with common.workdir() as work:
        with common.wacoex_server(work, worker=worker) as (server, db_url):
            # With the worker on, the fixed-rate run starts once the max run's backlog is applied,
            # so it measures a steady state rather than the tail of the previous run.
            settle = (lambda: _wait_applied(db_url, timeout=args.settle)) if worker else None
            m = measure_server(server, args, label=label, settle=settle)
            lag = _wait_applied(db_url, timeout=args.settle) if worker else 0.0
        m.check = {
            "acked": m.ok,
            "receipts": _count(db_url, "SELECT count(*) FROM receipts"),
            "messages": _count(db_url, "SELECT count(*) FROM messages"),
            "applied": _count(db_url, "SELECT count(*) FROM receipts WHERE state = 'done'"),
            "drain_after_load_s": lag,
        }
    return m


# -- the baseline: a bare ASGI app under the same server -----------------------------------------


async def bare_app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    """Reads the request body and answers 200 with wacoex's ack body; stores nothing."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    body = b'{"status":"ok"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _serve_bare(port: int) -> None:
    from wacoex.config import Settings
    from wacoex.web import server

    server.run(bare_app, host="127.0.0.1", port=port, settings=Settings())


def run_bare(args: argparse.Namespace) -> Measurement:
    with common.workdir() as work:
        port = common.free_port()
        cmd = [common.PYTHON, __file__, "--serve-bare", str(port)]
        server = common.Server(
            cmd, common.gateway_env("sqlite://", work), port, "/healthz", work / "bare.log"
        )
        server.start()
        try:
            m = measure_server(server, args, label="bare ASGI app")
        finally:
            server.stop()
    return m


def run_pywa(args: argparse.Namespace) -> Measurement:
    import bench_pywa

    with common.workdir() as work, bench_pywa.pywa_server(work) as server:
        m = measure_server(server, args, label="pywa 4.5.0 (no persistence)")
    return m


# -- side by side --------------------------------------------------------------------------------

NAMES = {"bare": "bare ASGI", "no-worker": "serve --no-worker", "worker": "serve (default)", "pywa": "pywa"}


def _median_run(runs: list[Measurement]) -> Measurement:
    """The round whose fixed-rate p99 is the median one (its other figures come with it)."""
    return sorted(runs, key=lambda m: m.rate_load.p99)[len(runs) // 2]


def _figures(values: list[float], fmt: str) -> str:
    shown = ", ".join(fmt.format(v) for v in values)
    return fmt.format(statistics.median(values)) + (f" ({shown})" if len(values) > 1 else "")


def run(args: argparse.Namespace) -> common.Results:
    variants = args.variants.split(",")
    runs: dict[str, list[Measurement]] = {v: [] for v in variants}
    for _ in range(args.rounds):
        for variant in variants:
            if variant == "bare":
                runs[variant].append(run_bare(args))
            elif variant == "pywa":
                runs[variant].append(run_pywa(args))
            else:
                runs[variant].append(run_wacoex(args, worker=variant == "worker"))
    results = common.Results()
    for variant in variants:
        ms, name = runs[variant], NAMES[variant]
        wacoex = variant in ("no-worker", "worker")
        rates = [m.max_load.rate for m in ms]
        results.add(
            f"Ack throughput, {name}, {args.connections} conns",
            _figures(rates, "{:,.0f}") + " POSTs/s",
            f">= {TARGET_POSTS:,.0f}/s" if wacoex else "",
            statistics.median(rates) >= TARGET_POSTS if wacoex else None,
        )
        p99s = [m.rate_load.p99 for m in ms]
        results.add(
            f"Ack latency at {args.rate:,.0f}/s, {name}",
            f"p50 {statistics.median(m.rate_load.p50 for m in ms):.1f} ms, p99 "
            + _figures(p99s, "{:.1f}")
            + " ms",
            f"p99 <= {TARGET_P99_MS:.0f} ms" if wacoex else "",
            statistics.median(p99s) <= TARGET_P99_MS if wacoex else None,
        )
        if wacoex:
            durable = all(m.check["receipts"] == m.check["acked"] for m in ms)
            acked = sum(m.check["acked"] for m in ms)
            detail = f"{sum(m.check['receipts'] for m in ms):,} receipts stored / {acked:,} acked"
            if variant == "worker":
                # Every applied receipt holds one message; receipts not applied yet are still pending.
                durable = durable and all(m.check["messages"] == m.check["applied"] for m in ms)
                applied = sum(m.check["applied"] for m in ms)
                detail += f", {applied:,} applied ({sum(m.check['messages'] for m in ms):,} messages)"
                drains = [m.check["drain_after_load_s"] for m in ms]
                results.add(
                    f"Applied after the load stops, {name}",
                    _figures(drains, "{:.1f}") + " s",
                    f"<= {TARGET_DRAIN_S:.0f} s",
                    applied == acked and max(drains) <= TARGET_DRAIN_S,
                )
            results.add(f"Durability, {name}", detail, "stored == acked", durable)
        for i, m in enumerate(ms, 1):
            results.notes.append(
                f"{m.label}, round {i}: during the max run {m.background}; max-run latency "
                f"p50 {m.max_load.p50:.1f} ms p99 {m.max_load.p99:.1f} ms; at {m.rate_load.mode} "
                f"p50 {m.rate_load.p50:.1f} p90 {m.rate_load.p90:.1f} p99 {m.rate_load.p99:.1f} "
                f"max {m.rate_load.max:.1f} ms"
            )
        key = "pywa" if variant == "pywa" else f"wacoex-{variant}"
        results.data[key] = _median_run(ms)
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--loadgen":
        _loadgen_main(sys.argv[2:])
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-bare":
        _serve_bare(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser)
    add_variant_options(parser)
    run(parser.parse_args()).print()


def add_variant_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--variants",
        default="bare,no-worker,worker,pywa",
        help="comma-separated, measured in this order each round: bare, no-worker, worker, pywa",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every variant (medians reported)")


if __name__ == "__main__":
    main()
