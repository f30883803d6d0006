"""Acknowledgement latency while one huge signed webhook is applied, this code and a previous commit.

    .venv/bin/python benchmarks/bench_hostile.py [--previous 2ca292c] [--rate 200] [--seconds 15]
                                                 [--bodies empty-entries,big-batch,none]
                                                 [--modes serve,no-worker]

`wacoex serve` runs for real on a fresh SQLite file. A load generator (bench_ack's, in its own
process) sends single-message webhooks at a fixed rate; one second in, one large body is posted:

- `empty-entries`: 1,150,000 empty `entry` objects (3.45 MB, under the 3.5 MB limit);
- `big-batch`: 27,700 customer messages in one webhook (2.9 MB), a realistic batch;
- `none`: nothing, the quiet baseline.

Modes: `serve` (the in-process worker applies while the ingress answers) and `no-worker`
(`serve --no-worker` plus one `wacoex worker` process on the same SQLite file). For each run: p50,
p99 and max ack latency of the background load (from each request's intended send time), how
many were not answered 200, whether every 200 was stored, and how long the large body took to
apply. `--previous REF` runs the same with the code of that commit (checked out into a temporary
worktree and put first on PYTHONPATH), side by side in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bench_ack
import common
import httpx
import orjson

EMPTY_ENTRIES = 1_150_000
BIG_BATCH = 27_700


def _body(kind: str) -> bytes | None:
    if kind == "empty-entries":
        return b'{"object":"whatsapp_business_account","entry":[' + b",".join([b"{}"] * EMPTY_ENTRIES) + b"]}"
    if kind == "big-batch":
        # Short items (about 105 bytes each), so the batch fits Meta's 3 MB like the one reported.
        messages = [
            {
                "from": common.customer(i % 3000),
                "id": f"wamid.B{i}",
                "timestamp": str(1739230955 + i),
                "type": "text",
                "text": {"body": "ok"},
            }
            for i in range(BIG_BATCH)
        ]
        value = {"messages": messages}
        return orjson.dumps(common._envelope("messages", value))
    return None


@contextmanager
def _code(ref: str | None) -> Any:
    """PYTHONPATH for the code at `ref` (None: this checkout)."""
    if ref is None:
        yield str(common.ROOT / "src")
        return
    tree = Path(tempfile.mkdtemp(prefix="wacoex-prev-"))
    subprocess.run(
        ["git", "-C", str(common.ROOT), "worktree", "add", "-q", "--detach", str(tree), ref], check=True
    )
    try:
        yield str(tree / "src")
    finally:
        subprocess.run(
            ["git", "-C", str(common.ROOT), "worktree", "remove", "--force", str(tree)], check=False
        )


def _prepare(db_url: str, src: str) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[2]); sys.path.insert(0, sys.argv[3]); import common; "
        "common.prepare_database(sys.argv[1])"
    )
    subprocess.run([common.PYTHON, "-c", code, db_url, str(common.BENCH), src], check=True, env=_env(src))


def _env(src: str, db_url: str | None = None, work: Path | None = None) -> dict[str, str]:
    env = common.gateway_env(db_url, work) if db_url and work else dict(os.environ)
    env["PYTHONPATH"] = src
    return env


def _count(db_url: str, sql: str) -> int:
    return bench_ack._count(db_url, sql)


def run_one(src: str, mode: str, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    body = _body(kind)
    with common.workdir() as work:
        db_url = f"sqlite:///{work / 'wacoex.db'}"
        _prepare(db_url, src)
        port = common.free_port()
        env = _env(src, db_url, work)
        cmd = [common.PYTHON, "-m", "wacoex", "serve", "--host", "127.0.0.1", "--port", str(port)]
        if mode == "no-worker":
            cmd.append("--no-worker")
        server = common.Server(cmd, env, port, "/healthz", work / "server.log")
        server.start()
        worker = None
        if mode == "no-worker":
            with (work / "worker.log").open("wb") as out:
                worker = subprocess.Popen(
                    [common.PYTHON, "-m", "wacoex", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
                )
        try:
            total = int(args.rate * args.seconds)
            result: dict[str, Any] = {}

            def background() -> None:
                result["load"] = bench_ack.run_load(
                    port, requests=total, connections=64, rate=args.rate, start=10**7
                )

            loader = threading.Thread(target=background)
            loader.start()
            if body is not None:
                time.sleep(1.0)
                r = httpx.post(
                    f"http://127.0.0.1:{port}/webhooks/whatsapp",
                    content=body,
                    headers={"x-hub-signature-256": common.sign(body)},
                    timeout=600,
                )
                result["big_status"] = r.status_code
            loader.join()
            # How long until everything, the large body included, is applied (bounded).
            deadline = time.perf_counter() + args.settle
            while time.perf_counter() < deadline:
                if _count(db_url, "SELECT count(*) FROM receipts WHERE state = 'pending'") == 0:
                    break
                time.sleep(0.2)
            pending = _count(db_url, "SELECT count(*) FROM receipts WHERE state = 'pending'")
            result["pending"] = pending
            result["apply_s"] = None
            if body is not None and result.get("big_status") == 200:
                # The large body is the receipt with the largest body; its own time to be applied.
                took = _count(
                    db_url,
                    "SELECT coalesce(applied_at - received_at, -1) FROM receipts "
                    "ORDER BY length(body) DESC LIMIT 1",
                )
                result["apply_s"] = took / 1000 if took >= 0 else None
        finally:
            server.stop()
            if worker is not None:
                worker.send_signal(2)
                try:
                    worker.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    worker.kill()
        load: bench_ack.Load = result["load"]
        result["stored"] = _count(db_url, "SELECT count(*) FROM receipts") - (1 if body is not None else 0)
        result["unknown_rows"] = _count(db_url, "SELECT count(*) FROM unknown_items")
        result["ok"] = load.ok
        result["sent"] = load.sent
        return result


def run(args: argparse.Namespace) -> common.Results:
    results = common.Results()
    versions: list[tuple[str, str | None]] = [("this", None)]
    if args.previous:
        versions.append((args.previous, args.previous))
    for label, ref in versions:
        with _code(ref) as src:
            for mode in args.modes.split(","):
                for kind in args.bodies.split(","):
                    r = run_one(src, mode, kind, args)
                    load: bench_ack.Load = r["load"]
                    applied = (
                        f"applied in {r['apply_s']:.1f} s"
                        if r["apply_s"] is not None
                        else f"{r['pending']} receipt(s) still pending {args.settle:.0f} s after the load"
                        if kind != "none" or r["pending"]
                        else "-"
                    )
                    results.add(
                        f"{label}: {mode}, {kind}, acks at {args.rate:g}/s",
                        f"p50 {load.p50:.1f} ms, p99 {load.p99:.1f} ms, max {load.max:.0f} ms; "
                        f"{load.sent - load.ok} not 200; stored {r['stored']}/{load.ok}; {applied}",
                    )
                    if kind == "empty-entries":
                        results.notes.append(
                            f"{label} {mode}: the empty-entries body left {r['unknown_rows']:,} unknown rows"
                        )
    return results


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--previous", default="", help="git ref of the code to compare with (empty: none)")
    parser.add_argument("--rate", type=float, default=200.0, help="background webhooks per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the background load")
    parser.add_argument("--settle", type=float, default=120.0, help="seconds to wait for the apply")
    parser.add_argument("--bodies", default="none,empty-entries,big-batch")
    parser.add_argument("--modes", default="serve,no-worker")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    args = parser.parse_args()
    info = common.machine()
    print(
        f"machine: {info['nproc']} cores, {info['ram']} RAM; {info['date']}; code: {info['code']}; "
        f"load average {common.load_average()}",
        flush=True,
    )
    run(args).print()


if __name__ == "__main__":
    sys.exit(main())
