"""Sending through the gateway to the emulator: exact pacing, aggregate throughput, added latency.

    .venv/bin/python benchmarks/bench_send.py [--engine sqlite|postgres] [--numbers 100] ...

`wacoex serve` and `wacoex emulator` run as real servers in subprocesses on 127.0.0.1 (the emulator
plays Meta: it enforces 20 messages per second per coexistence number itself and logs every message
it accepts and every 130429 it answers). Three measurements, in one run:

1. **Pacing is exact.** One coexistence number, a backlog of queued template sends: from the
   emulator's own log, the most sends it accepted in any one-second window (target ≤ 20), the
   sustained rate while backlogged (target ≥ 19.5/s), and how many it refused with 130429 (target 0).
2. **Aggregate.** `--numbers` coexistence numbers, `--per-number` queued sends each: messages the
   emulator accepted per second, from the first queued send to the last accepted (target ≥ 1,000/s
   in one process).
3. **Added latency.** Synchronous sends, alternating in blocks between the gateway
   (`POST /api/v1/numbers/{id}/messages`) and the emulator directly (`POST /v23.0/{id}/messages`,
   the same template body): p50 of each and the difference (target ≤ 5 ms). The direct path is the
   peer: what a client that does not use wacoex pays.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import common
import httpx
from cryptography.fernet import Fernet

TOKEN = "emulator-token"
TEMPLATE = "bench_hello"


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--backlog", type=int, default=300, help="queued sends on the paced number")
    parser.add_argument("--numbers", type=int, default=100, help="numbers in the aggregate run")
    parser.add_argument("--per-number", type=int, default=20, help="queued sends per number (aggregate)")
    parser.add_argument("--latency-sends", type=int, default=300, help="synchronous sends per path")


def pnid(i: int) -> str:
    return f"2000000000{i:05d}"


def display(i: int) -> str:
    return f"1555100{i:04d}"


@contextmanager
def servers(work: Path, engine: str, numbers: int) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The emulator and `wacoex serve` (pointed at each other), with `numbers` numbers on both."""
    emu_port, gw_port = common.free_port(), common.free_port()
    emu_url, gw_url = f"http://127.0.0.1:{emu_port}", f"http://127.0.0.1:{gw_port}"
    wacoex = str(Path(common.PYTHON).parent / "wacoex")
    emulator = common.Server(
        [
            wacoex,
            "emulator",
            "--port",
            str(emu_port),
            "--webhook-url",
            f"{gw_url}/webhooks/whatsapp",
            "--app-secret",
            common.APP_SECRET,
        ],
        {k: v for k, v in __import__("os").environ.items() if not k.startswith("WACOEX_")},
        emu_port,
        "/_emulator/clock",
        work / "emulator.log",
    )
    emulator.start()
    try:
        with common.database(engine, work) as db_url:
            env = common.gateway_env(db_url, work)
            env.update(
                WACOEX_GRAPH_BASE_URL=f"{emu_url}/v23.0",
                WACOEX_SECRET_KEY=Fernet.generate_key().decode(),
                WACOEX_SEND_MAX_WAIT_SECONDS="30",
            )
            _register(db_url, env, numbers)
            with httpx.Client(base_url=f"{emu_url}/_emulator", timeout=60) as emu:
                emu.patch("/config", json={"delivery_delay": 0.5}).raise_for_status()
                for i in range(numbers):
                    emu.post(
                        "/numbers",
                        json={
                            "phone_number_id": pnid(i),
                            "display_phone_number": display(i),
                            "waba_id": common.WABA,
                            "onboarded": True,
                        },
                    ).raise_for_status()
                emu.post(
                    "/templates",
                    json={
                        "waba_id": common.WABA,
                        "name": TEMPLATE,
                        "language": "en_US",
                        "category": "UTILITY",
                        "components": [{"type": "BODY", "text": "Hello from the benchmark."}],
                    },
                ).raise_for_status()
            cmd = [wacoex, "serve", "--host", "127.0.0.1", "--port", str(gw_port)]
            gateway = common.Server(cmd, env, gw_port, "/healthz", work / "gateway.log")
            gateway.start()
            try:
                env["_GATEWAY_PID"], env["_EMULATOR_PID"] = str(gateway.pid), str(emulator.pid)
                yield gw_url, emu_url, env
            finally:
                gateway.stop()
    finally:
        emulator.stop()


def _register(db_url: str, env: dict[str, str], numbers: int) -> None:
    from wacoex.bootstrap import admin
    from wacoex.config import Settings

    settings = Settings(database_url=db_url, secret_key=env["WACOEX_SECRET_KEY"], dev=True)
    with admin(settings) as a:
        for i in range(numbers):
            a.add_number(
                phone_number_id=pnid(i),
                display_phone_number=display(i),
                waba_id=common.WABA,
                provider="meta",
                coexistence=True,
                access_token=TOKEN,
            )


def customers(emu_url: str, count: int) -> list[str]:
    """`count` customers the emulator knows (templates go to anyone; the pair rate counts per customer)."""
    wa_ids = [f"1650600{n:04d}" for n in range(count)]
    with httpx.Client(base_url=f"{emu_url}/_emulator", timeout=60) as emu:
        for wa_id in wa_ids:
            emu.post("/customers", json={"wa_id": wa_id, "name": wa_id}).raise_for_status()
    return wa_ids


def template_body(to: str) -> dict[str, Any]:
    return {"to": to, "template": {"name": TEMPLATE, "language": "en_US"}}


def accepted(emu_url: str, number: str | None = None) -> list[dict[str, Any]]:
    params = {"origin": "api", **({"phone_number_id": number} if number else {})}
    data = httpx.get(f"{emu_url}/_emulator/messages", params=params, timeout=120).json()["data"]
    return list(data)


def refused_130429(emu_url: str) -> int:
    r = httpx.get(f"{emu_url}/_emulator/refusals", params={"code": 130429}, timeout=60).json()
    return len(r["data"])


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def queue(gw: httpx.Client, number: str, to: str) -> None:
    r = gw.post(f"/api/v1/numbers/{number}/messages", json={**template_body(to), "queue": True})
    r.raise_for_status()


def wait_accepted(emu_url: str, total: int, timeout: float, number: str | None = None) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(accepted(emu_url, number)) >= total:
            return time.monotonic()
        time.sleep(0.25)
    raise RuntimeError(f"the emulator accepted {len(accepted(emu_url, number))} of {total} in time")


def run(args: argparse.Namespace) -> common.Results:
    results = common.Results()
    with (
        common.workdir() as work,
        servers(work, args.engine, max(args.numbers, 1)) as (gw_url, emu_url, _env),
    ):
        people = customers(emu_url, max(args.backlog, args.per_number, 64))
        headers = {"Authorization": f"Bearer {common.ADMIN_KEY}"}
        with httpx.Client(base_url=gw_url, headers=headers, timeout=120) as gw:
            # Warm up: the template sync on the first send, connections, the emulator's routes.
            gw.post(f"/api/v1/numbers/{pnid(0)}/messages", json=template_body(people[0])).raise_for_status()

            # 1. pacing on one number
            paced = pnid(0)
            for i in range(args.backlog):
                queue(gw, paced, people[i % len(people)])
            wait_accepted(emu_url, args.backlog + 1, timeout=args.backlog / 10 + 60, number=paced)
            times = sorted(float(m["timestamp"]) for m in accepted(emu_url, paced))[1:]
            worst = max_in_window(times)
            sustained = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
            refused = refused_130429(emu_url)
            results.add(
                "pacing: most sends in any 1 s window (emulator's clock)", f"{worst}", "<= 20", worst <= 20
            )
            results.add(
                "pacing: sustained rate while backlogged",
                f"{sustained:.2f}/s",
                ">= 19.5/s",
                sustained >= 19.5,
            )
            results.add("pacing: 130429 answered by the emulator", f"{refused}", "0", refused == 0)

            # 2. aggregate across numbers, with the CPU each process used
            gateway_pid, emulator_pid = int(_env["_GATEWAY_PID"]), int(_env["_EMULATOR_PID"])
            worker_pids = common.children(gateway_pid)

            def cpu() -> tuple[float, float, float]:
                worker = sum(common.process_seconds(p) for p in worker_pids)
                return common.process_seconds(gateway_pid), worker, common.process_seconds(emulator_pid)

            cpu_before, busy_before = cpu(), common._busy_seconds()
            before = len(accepted(emu_url))
            total = args.numbers * args.per_number
            start = time.monotonic()
            for k in range(args.per_number):
                for i in range(args.numbers):
                    queue(gw, pnid(i), people[(k * args.numbers + i) % len(people)])
            queued_in = time.monotonic() - start
            end = wait_accepted(emu_url, before + total, timeout=total / 50 + 120)
            rate = total / (end - start)
            spent = [after - was for after, was in zip(cpu(), cpu_before, strict=True)]
            machine = common._busy_seconds() - busy_before
            results.notes.append(
                f"aggregate: {end - start:.1f} s wall; CPU seconds: gateway {spent[0]:.1f}, its worker child "
                f"{spent[1]:.1f}, emulator {spent[2]:.1f}, whole machine {machine:.1f} of "
                f"{2 * (end - start):.1f} available on 2 cores"
            )
            results.add(
                f"aggregate: {total} queued sends over {args.numbers} numbers",
                f"{rate:,.0f}/s (queueing alone {total / queued_in:,.0f}/s)",
                ">= 1,000/s",
                rate >= 1000,
            )

            # 3. added latency, alternating blocks of 20
            via, direct = [], []
            block = 20
            with httpx.Client(
                base_url=emu_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
            ) as meta:
                for b in range(args.latency_sends // block):
                    for k in range(block):
                        n, to = pnid((b * block + k) % args.numbers), people[(b * block + k) % len(people)]
                        t = time.perf_counter()
                        gw.post(f"/api/v1/numbers/{n}/messages", json=template_body(to)).raise_for_status()
                        via.append((time.perf_counter() - t) * 1000)
                        body = {
                            "messaging_product": "whatsapp",
                            "to": to,
                            "type": "template",
                            "template": {"name": TEMPLATE, "language": {"code": "en_US"}},
                        }
                        t = time.perf_counter()
                        meta.post(f"/v23.0/{n}/messages", json=body).raise_for_status()
                        direct.append((time.perf_counter() - t) * 1000)
            p50_via, p50_direct = statistics.median(via), statistics.median(direct)
            added = p50_via - p50_direct
            results.add(
                "sync send p50: through wacoex vs straight to the emulator",
                f"{p50_via:.1f} ms vs {p50_direct:.1f} ms (+{added:.1f} ms)",
                "<= +5 ms",
                added <= 5,
            )
            results.data["latency"] = {"via": via, "direct": direct}
    results.notes.append(f"engine {args.engine}; load average at the end {common.load_average()}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    args = parser.parse_args()
    info = common.machine()
    print(
        f"machine: {info['nproc']} cores, {info['ram']} RAM; {info['date']}; code {info['code']}",
        file=sys.stderr,
    )
    run(args).print()


if __name__ == "__main__":
    main()
