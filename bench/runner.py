"""`make bench`: start the stack, measure the figures, print the table, write
`bench/results.json`, and exit non-zero when a figure fails its target.

    python -m bench [--scale tiny|small|full] [--only FIGURE_OR_MODULE]... [--target "FIGURE<150"]...
                    [--clients N]
"""

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import harness

BASE_DIR = Path(__file__).resolve().parent.parent


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(harness.SCALES), default="full")
    parser.add_argument("--only", action="append", default=[], help="a figure's name or a module; repeatable")
    parser.add_argument(
        "--target", action="append", default=[], help='replace a target, as "FIGURE OP NUMBER"; repeatable'
    )
    parser.add_argument("--clients", type=int, help="concurrent HTTP clients, instead of the scale's")
    parser.add_argument("--results", type=Path, default=BASE_DIR / "bench" / "results.json")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=BASE_DIR / ".run" / "bench",
        help="where the bench's own PostgreSQL and Redis live (never the developer's .run/)",
    )
    args = parser.parse_args(argv)
    try:
        args.figures = harness.selected(args.only)
        args.overrides = {name: (op, limit) for name, op, limit in map(harness.parse_target, args.target)}
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    # Before anything imports hitl_site.embedded, which reads it once.
    os.environ["HITL_RUN_DIR"] = str(args.run_dir.resolve())
    from bench.stack import Stack

    scale = harness.SCALES[args.scale]
    if args.clients:
        scale = dataclasses.replace(scale, clients=args.clients)
    started = datetime.now(UTC)
    clock = time.monotonic()
    stack = Stack(scale)
    try:
        print(f"bench at scale {scale.name}: starting PostgreSQL, Redis and a fresh database…", flush=True)
        stack.up()
        rows = harness.measure(stack, args.figures, args.overrides)
        machine = describe_machine()
    finally:
        stack.down()
    failed = [row.figure.name for row in rows if row.passed is False]
    results = {
        "scale": scale.name,
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - clock, 1),
        "machine": machine,
        "passed": not failed,
        "figures": [row.as_json() for row in rows],
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(harness.format_table(rows))
    print(f"\n{len(rows)} figures, {len(failed)} failed; written to {args.results}")
    return 1 if failed else 0


def describe_machine():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name"),
        "memory_gb": round(int(_proc_field("/proc/meminfo", "MemTotal").split()[0]) / 1024**2, 1),
        "python": platform.python_version(),
        "postgresql": postgres,
        "system": platform.platform(),
    }


def _proc_field(path, name):
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
