"""Where the time goes (docs/performance.md quotes its output):

- pyinstrument over proposals and over the inbox's first page, in process;
- py-spy over the server's request threads while 20 clients post proposals, wall clock (idle included),
  so that time spent waiting on PostgreSQL or on a lock shows.

    .venv/bin/python -m bench.hot_paths [--scale small|full] [--proposals 200]

Runs on the bench's own database; writes the profiles under the bench's run directory.
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(prog="python -m bench.hot_paths")
    parser.add_argument("--scale", choices=["tiny", "small", "full"], default="small")
    parser.add_argument("--proposals", type=int, default=200)
    args = parser.parse_args()
    os.environ["HITL_RUN_DIR"] = str(BASE_DIR / ".run" / "bench")
    from bench.harness import SCALES
    from bench.stack import Stack

    stack = Stack(SCALES[args.scale])
    try:
        stack.up()
        profile_proposals(stack, args.proposals)
        spy_on_proposals_under_load(stack)
        profile_inbox(stack)
    finally:
        stack.down()


def profile_proposals(stack, count):
    from django.test import Client
    from pyinstrument import Profiler

    from bench.volume import proposal

    rng = random.Random(5)
    client = Client(headers={"Authorization": f"Bearer {stack.actors.tokens[0]}"})
    bodies = [json.dumps(proposal(rng, n)) for n in range(count + 10)]
    for body in bodies[:10]:  # warm caches and connections outside the profile
        client.post("/api/v1/actions", body, content_type="application/json")
    with Profiler(interval=0.0005) as profiler:
        for n, body in enumerate(bodies[10:]):
            answer = client.post(
                "/api/v1/actions", body, content_type="application/json", headers={"Idempotency-Key": f"p{n}"}
            )
            assert answer.status_code == 201, answer.content
    _report(stack, profiler, f"{count} proposals (POST /api/v1/actions, in process)", "proposals")


def profile_inbox(stack):
    from django.contrib.auth.models import User
    from django.test import Client
    from pyinstrument import Profiler

    from bench.volume import SUPERVISOR, seed_pending

    seed_pending(stack.scale.pending)
    client = Client()
    client.force_login(User.objects.get(username=SUPERVISOR))
    client.get("/")
    with Profiler(interval=0.001) as profiler:
        assert client.get("/").status_code == 200
    _report(stack, profiler, f"the inbox's first page with {stack.scale.pending:,} pending (GET /)", "inbox")


# Frames of the proposal path, as py-spy names them ("function (file:line)"), by what they do.
PROPOSAL_STEPS = {
    "audit.log (record, record_many), all of it": "(audit/log.py",
    "token authentication, all of it": "__call__ (approvals/agent_auth.py",
    "  the policies' generation (policies/cache.py)": "Policies.current (policies/cache.py",
    "  the rate limit's Redis round trip": "over_rate (approvals/agent_auth.py",
    "Idempotency-Key lock and lookup": "_claim (approvals/services.py",
    "action type lookup": "action_type_for (policies/routing.py",
    "routing and schema check": "route (policies/routing.py",
    "summary template": "render_summary",
    "commit": "Atomic.__exit__",
    "answer (as_api)": "as_api (approvals/models.py",
}


def spy_on_proposals_under_load(stack, seconds=8):
    from bench.harness import Scale
    from bench.proposals import load
    from bench.volume import proposal

    # audit_append_v2() takes a lane's lock, appends and returns: one call, lock wait included.
    lock_wait = {"  audit_append_v2(): a lane's lock and the append": "_append (audit/log.py"}
    first, *rest = PROPOSAL_STEPS.items()
    steps = dict([first, *lock_wait.items(), *rest])
    rng = random.Random(3)
    bodies = [json.dumps(proposal(rng, n)).encode() for n in range(2_000)]
    scale = Scale("spy", pending=0, clients=20, seconds=seconds, rounds=1, decisions=0, samples=0)
    # Outside the recording: the workers' first requests wait on imports, not on the product.
    asyncio.run(load(stack.web_url, "/api/v1/actions", bodies, stack.actors.tokens, replace(scale, seconds=2)))
    raw = stack.run_dir / "py-spy-proposals.txt"
    spy = subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--idle", "--subprocesses", "--nonblocking"]
        + ["--pid", str(stack.gunicorn_pid), "--duration", str(seconds), "--rate", "200"]
        + ["--format", "raw", "--output", str(raw)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    phase = asyncio.run(load(stack.web_url, "/api/v1/actions", bodies, stack.actors.tokens, scale))
    spy.wait()
    total, shares, leaves = 0, Counter(), Counter()
    for line in raw.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if "SyncToAsync.thread_handler" not in frames:
            continue  # not a request's sync part (uvicorn serves ASGI: views run in asgiref's threads)
        total += int(count)
        leaves[frames.rsplit(";", 1)[-1]] += int(count)
        for step, frame in steps.items():
            if frame in frames:
                shares[step] += int(count)
    print(f"\n=== py-spy, wall clock of the requests' sync threads, 20 clients, {phase.per_second:.0f} proposals/s")
    for step in steps:
        print(f"{shares[step] / total:6.1%}  {step}")
    print("where the threads were, innermost frame:")
    for leaf, count in leaves.most_common(5):
        print(f"{count / total:6.1%}  {leaf}")


def _report(stack, profiler, title, name):
    path = stack.run_dir / f"profile-{name}.html"
    path.write_text(profiler.output_html())
    print(f"\n=== {title}; HTML in {path}")
    print(profiler.output_text(unicode=True, color=False, short_mode=True))


if __name__ == "__main__":
    main()
