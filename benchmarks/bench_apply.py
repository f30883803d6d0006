"""Apply throughput: stored receipts turned into the unified record, in message facts per second.

    .venv/bin/python benchmarks/bench_apply.py [--receipts 6000] [--contacts 5000]
        [--engine sqlite|postgres] [--workers N] [--batch N] [--runs 3] [--against SRC] [--profile]

Stores `--receipts` webhooks as receipts with the store's own `append` (what the ingress does), then
applies them and times it. Each receipt is one webhook batching three changes as Meta can: three
customer messages from three contacts (`messages`), two delivery statuses for earlier echoes
(`messages`, `statuses[]`), and one message typed on the phone (`smb_message_echoes`): six message
facts, over a pool of contacts so conversations are reused.

`--workers 0` (the default) applies in this process with `container.processor.drain()`; `--workers N`
starts N `wacoex worker` processes (what users run), stores the receipts once all are idle, and
times from the first claim that found work to the end of the last one (each worker reports both).
Every run is on a fresh database: a SQLite file, or (`--engine postgres`) a new database on
127.0.0.1:5432 dropped afterwards. Statements are counted at the driver (benchmarks/statements.py):
each execute, executemany or COPY is one, whoever issues it, BEGIN and SAVEPOINT included.

`--against SRC` also measures another checkout's `src/` (e.g. a worktree of an earlier commit) in
the same run, alternating with this code round by round; medians of `--runs` rounds are reported.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import logging
import os
import pstats
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common
import orjson
import statements

TARGET_FACTS = 10_000.0


def _echo_to(k: int, pool: int) -> str:
    return common.customer(k * 31 % pool)


def batch_webhook(k: int, pool: int) -> tuple[bytes, int]:
    """Receipt number `k`: its body and how many message facts it holds."""
    ts = 1739230955 + k
    senders = [common.customer((3 * k + j) * 7919 % pool) for j in range(3)]
    inbound = {
        "contacts": [
            {"profile": {"name": f"Customer {s[-4:]}"}, "wa_id": s, "user_id": common.bsuid(s)}
            for s in senders
        ],
        "messages": [common.inbound_message(3 * k + j, s, ts) for j, s in enumerate(senders)],
    }
    statuses = [
        {
            "id": common.wamid("EC", k - back),
            "status": status,
            "timestamp": str(ts),
            "recipient_id": _echo_to(k - back, pool),
            "conversation": {"id": f"c{k - back}", "origin": {"type": "service"}},
            "pricing": {
                "billable": False,
                "pricing_model": "PMP",
                "category": "service",
                "type": "free_customer_service",
            },
        }
        for back, status in ((1, "delivered"), (2, "read"))
        if k - back >= 0
    ]
    echo = {
        "from": common.BUSINESS,
        "to": _echo_to(k, pool),
        "id": common.wamid("EC", k),
        "timestamp": str(ts),
        "type": "text",
        "text": {"body": f"Yes, order #{k} is ready. See you at 5!"},
    }
    meta = {"display_phone_number": common.BUSINESS, "phone_number_id": common.PNID}

    def change(field: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"field": field, "value": {"messaging_product": "whatsapp", "metadata": meta, **value}}

    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": common.WABA,
                "time": ts,
                "changes": [
                    change("messages", inbound),
                    change("messages", {"statuses": statuses}),
                    change("smb_message_echoes", {"message_echoes": [echo]}),
                ],
            }
        ],
    }
    return orjson.dumps(body), 3 + len(statuses) + 1


def settings_for(db_url: str, work: Path, batch: int | None, budget_ms: int | None = None) -> Any:
    from wacoex.config import Settings

    extra: dict[str, Any] = {"worker_batch": batch} if batch else {}
    if budget_ms:
        extra["apply_lock_budget_ms"] = budget_ms
    return Settings(
        database_url=db_url,
        app_secrets=[common.APP_SECRET],
        verify_token=common.VERIFY_TOKEN,
        admin_api_key=common.ADMIN_KEY,
        media_dir=work / "media",
        fetch_media=False,
        **extra,
    )


def store_receipts(engine: Any, bodies: list[bytes], per_transaction: int = 1000) -> None:
    from wacoex.store.engine import now_ms
    from wacoex.store.receipts import append

    for i in range(0, len(bodies), per_transaction):
        with engine.begin() as conn:
            append(conn, [("meta", b, now_ms()) for b in bodies[i : i + per_transaction]])


def count(engine: Any, sql: str) -> int:
    import sqlalchemy as sa

    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


# -- one measurement, in a process that imports the code under test ------------------------------


def _in_process(container: Any, db_url: str, bodies: list[bytes], profile: bool) -> dict[str, Any]:
    store_receipts(container.engine, bodies)
    backends = common.database_backends(db_url)
    counter = statements.COUNT
    before, kinds_before = counter.snapshot()
    profiler = cProfile.Profile() if profile else None
    meter = common.CpuMeter()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    outcome = container.processor.drain(limit=container.settings.worker_batch)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - start
    server = common.backend_seconds(backends, db_url)
    ours, other = meter.stop()
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(30)
    total, kinds = counter.snapshot()
    return {
        "seconds": seconds,
        "statements": total - before,
        "kinds": dict(kinds - kinds_before),
        "cores_ours": ours,
        "cores_other": max(0.0, other - server / seconds),
        "cpu_seconds": ours * seconds + server,
        "server_seconds": server,
        "parked": outcome.parked,
        "failed": outcome.failed,
    }


def _with_workers(container: Any, db_url: str, work: Path, bodies: list[bytes], args: Any) -> dict[str, Any]:
    env = common.gateway_env(db_url, work)
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    if args.batch:
        env["WACOEX_WORKER_BATCH"] = str(args.batch)
    if args.lock_budget_ms:
        env["WACOEX_APPLY_LOCK_BUDGET_MS"] = str(args.lock_budget_ms)
    children = []
    for i in range(args.workers):
        report = work / f"worker{i}.json"
        log = (work / f"worker{i}.log").open("wb")
        cmd = [common.PYTHON, __file__, "--worker-child", db_url, str(report)]
        children.append((subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), report))
    deadline = time.monotonic() + 60
    while not all(Path(f"{r}.ready").exists() for _, r in children):
        if time.monotonic() > deadline or any(p.poll() is not None for p, _ in children):
            raise RuntimeError("workers did not come up: " + (work / "worker0.log").read_text()[-2000:])
        time.sleep(0.05)
    meter = common.CpuMeter(*(p.pid for p, _ in children))
    backends = common.database_backends(db_url)
    started = time.perf_counter()
    # All receipts in one transaction: no worker starts on a part while the rest is being stored.
    store_receipts(container.engine, bodies, per_transaction=len(bodies))
    deadline = time.monotonic() + 600
    while count(container.engine, "SELECT count(*) FROM receipts WHERE state = 'done'") < len(bodies):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    server = common.backend_seconds(backends, db_url)
    wall = time.perf_counter() - started
    ours, other = meter.stop()
    for proc, _ in children:
        proc.send_signal(signal.SIGTERM)
    reports = []
    for proc, report in children:
        proc.wait(timeout=60)
        reports.append(json.loads(report.read_text()))
    if args.logs:
        Path(args.logs).mkdir(parents=True, exist_ok=True)
        for i in range(args.workers):
            (Path(args.logs) / f"worker{i}.log").write_bytes((work / f"worker{i}.log").read_bytes())
    kinds: dict[str, int] = {}
    for r in reports:
        for k, v in r["kinds"].items():
            kinds[k] = kinds.get(k, 0) + v
    worked = [r for r in reports if r["first"] is not None]
    return {
        "seconds": max(r["last"] for r in worked) - min(r["first"] for r in worked),
        "statements": sum(r["statements"] for r in reports),
        "kinds": kinds,
        "cores_ours": ours,
        "cores_other": max(0.0, other - server / wall),
        "cpu_seconds": ours * wall + server,
        "server_seconds": server,
        "parked": count(container.engine, "SELECT count(*) FROM receipts WHERE state = 'parked'"),
        "failed": sum(r["failed"] for r in reports),
        "per_worker_receipts": [r["done"] for r in reports],
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """One round for the code this interpreter imports; a JSON-able dict."""
    from wacoex.bootstrap import build

    statements.install()
    info = common.machine()
    built = [batch_webhook(k, args.contacts) for k in range(args.receipts)]
    facts = sum(n for _, n in built)
    bodies = [b for b, _ in built]
    del built
    with common.workdir() as work, common.database(args.engine, work) as db_url:
        common.prepare_database(db_url)
        container = build(settings_for(db_url, work, args.batch, args.lock_budget_ms), migrate=False)
        # A receipt that fails is logged at WARNING on every attempt; the counts below say it once.
        logging.getLogger("wacoex").setLevel(logging.ERROR)
        try:
            if args.workers:
                out = _with_workers(container, db_url, work, bodies, args)
            else:
                out = _in_process(container, db_url, bodies, args.profile)
            messages = count(container.engine, "SELECT count(*) FROM messages")
            done = count(container.engine, "SELECT count(*) FROM receipts WHERE state = 'done'")
            conversations = count(container.engine, "SELECT count(*) FROM conversations")
        finally:
            container.dispose()
    out.update(
        code=info["code"],
        facts=facts,
        rate=facts / out["seconds"],
        per_fact=out["statements"] / facts,
        cpu_us_per_fact=1e6 * out["cpu_seconds"] / facts,
        messages=messages,
        expected_messages=4 * args.receipts,
        done=done,
        receipts=args.receipts,
        conversations=conversations,
        batch=args.batch or container.settings.worker_batch,
    )
    return out


def worker_child(db_url: str, report: Path) -> None:
    """`wacoex worker` as users run it, with its statements counted and its claims timed."""
    statements.install()
    from wacoex import cli
    from wacoex.services.receipts import ReceiptProcessor

    counter = statements.COUNT
    seen: dict[str, Any] = {"first": None, "last": None, "statements": 0, "done": 0, "failed": 0}
    kinds: dict[str, int] = {}
    run_once = ReceiptProcessor.run_once

    def timed(self: Any, limit: int = 50) -> Any:
        if not ready.exists():
            ready.touch()  # the worker is up: its first poll
        before, kinds_before = counter.snapshot()
        start = time.time()
        result = run_once(self, limit)
        if result.claimed:  # idle polls of an empty queue are not apply work
            seen["first"] = start if seen["first"] is None else seen["first"]
            seen["last"] = time.time()
            total, now = counter.snapshot()
            seen["statements"] += total - before
            for k, v in (now - kinds_before).items():
                kinds[k] = kinds.get(k, 0) + v
            seen["done"] += result.done
            seen["failed"] += result.failed
        return result

    ready = Path(f"{report}.ready")
    ReceiptProcessor.run_once = timed  # type: ignore[method-assign]
    with contextlib.suppress(SystemExit):
        cli.app(["worker", "--database-url", db_url], standalone_mode=False)
    report.write_text(json.dumps({**seen, "kinds": kinds}))


# -- rounds, codes and the table --------------------------------------------------------------------


def _child_args(args: argparse.Namespace) -> list[str]:
    out = ["--receipts", str(args.receipts), "--contacts", str(args.contacts), "--engine", args.engine]
    out += ["--workers", str(args.workers)]
    if args.batch:
        out += ["--batch", str(args.batch)]
    if args.lock_budget_ms:
        out += ["--lock-budget-ms", str(args.lock_budget_ms)]
    if args.profile:
        out.append("--profile")
    if args.logs:
        out += ["--logs", args.logs]
    return out


def _round(src: str | None, args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    else:
        env.pop("PYTHONPATH", None)
    cmd = [common.PYTHON, __file__, "--measure", *_child_args(args)]
    out = subprocess.run(cmd, env=env, capture_output=True, timeout=900, check=False)
    if args.profile:
        sys.stderr.write(out.stderr.decode())
    if out.returncode:
        raise RuntimeError(f"round failed:\n{out.stderr.decode()[-3000:]}")
    return dict(json.loads(out.stdout.decode().strip().splitlines()[-1]))


def _median(rounds: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def run(args: argparse.Namespace) -> common.Results:
    results = common.Results()
    codes: list[tuple[str, str | None]] = [("this code", None)]
    if args.against:
        codes.insert(0, ("against", str(Path(args.against).resolve())))
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in codes}
    for _ in range(args.runs):
        for name, src in codes:
            rounds[name].append(_round(src, args))
    where = f"{args.engine}, " + (f"{args.workers} worker processes" if args.workers else "in-process drain")
    for name, _ in codes:
        rs = rounds[name]
        code = rs[0]["code"].rsplit("(", 1)[-1].rstrip(")")
        rate = _median(rs, "rate")
        rates = ", ".join(f"{r['rate']:,.0f}" for r in rs)
        target = f">= {TARGET_FACTS:,.0f}/s" if name == "this code" else ""
        results.add(
            f"Apply, {args.receipts:,} receipts, {where}, batch {rs[0]['batch']} [{code}]",
            f"{rate:,.0f} facts/s (runs: {rates}); {_median(rs, 'per_fact'):.3f} statements/fact; "
            f"CPU {_median(rs, 'cpu_us_per_fact'):.0f} µs/fact",
            target,
            rate >= TARGET_FACTS if target else None,
        )
        for r in rs:
            wrong = r["done"] != r["receipts"] or r["messages"] != r["expected_messages"]
            split = r.get("per_worker_receipts")
            per_worker = f", receipts per worker {split}" if split else ""
            results.notes.append(
                f"[{code}] {r['facts']:,} facts in {r['seconds']:.2f} s = {r['rate']:,.0f}/s; "
                f"{r['statements']:,} statements ({r['per_fact']:.3f}/fact); "
                f"{r['done']:,}/{r['receipts']:,} receipts done "
                f"({r['parked']} parked, {r['failed']} failed), "
                f"{r['messages']:,} messages (expected {r['expected_messages']:,}), "
                f"{r['conversations']:,} conversations{per_worker}; "
                f"CPU {r['cpu_us_per_fact']:.0f} µs/fact (database {r['server_seconds']:.1f} s of it); "
                f"{r['cores_ours']:.2f} cores ours, {r['cores_other']:.2f} cores other processes"
                + (" -- WRONG RESULT" if wrong else "")
            )
        if args.kinds:
            last = rs[-1]
            top = sorted(last["kinds"].items(), key=lambda kv: -kv[1])
            results.notes.append(
                f"[{code}] statements by kind (last run): "
                + ", ".join(f"{k} {v:,} ({v / last['facts']:.3f}/fact)" for k, v in top)
            )
        results.data[f"apply {name}"] = rs
    return results


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--receipts", type=int, default=6_000, help="receipts to store, then apply")
    parser.add_argument("--contacts", type=int, default=5_000, help="distinct customers")
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=0, help="wacoex worker processes (0: in-process)")
    parser.add_argument("--batch", type=int, default=0, help="receipts per claim (default: the setting's)")
    parser.add_argument(
        "--lock-budget-ms", type=int, default=0, help="apply_lock_budget_ms (default: the setting's)"
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds per code; medians are reported")
    parser.add_argument("--against", help="another checkout's src/ to measure side by side")
    parser.add_argument("--kinds", action="store_true", help="list the statements by kind")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the apply to stderr")
    parser.add_argument("--logs", help="copy the workers' logs to this folder")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker-child":
        worker_child(sys.argv[2], Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    if "--measure" in sys.argv:
        sys.argv.remove("--measure")
        print(json.dumps(measure(parser.parse_args())))
        return
    run(parser.parse_args()).print()


if __name__ == "__main__":
    main()
