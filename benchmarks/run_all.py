"""Every gateway benchmark in one command, with bounded sizes, printed as one table.

    .venv/bin/python benchmarks/run_all.py [--quick] [--json results.json]



results against the issue's targets and notes (durability checks, CPU used by other processes).
Sizes keep the whole run to about ten minutes on a 2-core machine; `--quick` is a one-minute smoke run.
Each script also runs alone with its own `--help`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import bench_ack
import bench_apply
import bench_history
import common

FULL = {
    "ack": [
        "--requests",
        "20000",
        "--connections",
        "64",
        "--rate",
        "1000",
        "--seconds",
        "10",
        "--rounds",
        "3",
    ],
    "apply": ["--receipts", "6000", "--contacts", "5000", "--runs", "1"],
    "history": ["--messages", "1000000", "--per-webhook", "3000", "--threads", "2000"],
}
QUICK = {
    "ack": [
        "--requests",
        "3000",
        "--connections",
        "32",
        "--rate",
        "500",
        "--seconds",
        "3",
        "--warmup",
        "300",
        "--rounds",
        "1",
    ],
    "apply": ["--receipts", "300", "--contacts", "500", "--runs", "1"],
    "history": ["--messages", "30000", "--per-webhook", "3000", "--threads", "100"],
}


def _args(add: Any, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add(parser)
    return parser.parse_args(argv)


def _ack_options(parser: argparse.ArgumentParser) -> None:
    bench_ack.add_load_options(parser)
    bench_ack.add_variant_options(parser)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of about a minute")
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument(
        "--only", default="ack,apply,history", help="comma-separated subset of ack,apply,history"
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    only = set(args.only.split(","))
    info = common.machine()
    print(
        f"machine: {info['nproc']} cores ({info['cpu']}), {info['ram']} RAM; Python {info['python']}, "
        f"SQLite {info['sqlite']}; {info['date']}; load average at start: {common.load_average()}\n"
        f"code measured: {info['code']}",
        flush=True,
    )
    results = common.Results()
    timings: dict[str, float] = {}
    steps = [
        ("ack", lambda: bench_ack.run(_args(_ack_options, sizes["ack"]))),
        ("apply", lambda: bench_apply.run(_args(bench_apply.add_options, sizes["apply"]))),
        ("history", lambda: bench_history.run(_args(bench_history.add_options, sizes["history"]))),
    ]
    for name, step in steps:
        if name not in only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        results.extend(step())
        timings[name] = time.perf_counter() - start
    wacoex = results.data.get("wacoex-no-worker")
    pywa = results.data.get("pywa")
    if wacoex and pywa:
        ratio = wacoex.max_load.rate / pywa.max_load.rate
        results.add(
            "wacoex / pywa ack throughput",
            f"{ratio:.2f}x ({wacoex.max_load.rate:,.0f} vs {pywa.max_load.rate:,.0f} POSTs/s)",
        )
        results.add(
            f"wacoex / pywa p99 at {wacoex.rate_load.mode}",
            f"{wacoex.rate_load.p99:.1f} ms vs {pywa.rate_load.p99:.1f} ms",
        )
    print()
    results.print()
    print(
        f"- steps took {', '.join(f'{k} {v:.0f} s' for k, v in timings.items())}; "
        f"load average at the end: {common.load_average()}"
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {"machine": info, "rows": [r.__dict__ for r in results.rows], "notes": results.notes},
                out,
                indent=2,
            )


if __name__ == "__main__":
    main()
