"""A simulated agent that keeps proposing realistic actions through the HTTP API, as a real agent
would, with the client package: `make run` starts one beside the demo.

    python -m bench.simulated_agent [--url URL] [--token TOKEN] [--interval SECONDS] [--count N]
"""

import argparse
import os
import random
import sys
import time

import httpx

from hitl_client import ApiError, Client
from policies.demo import realistic_proposal


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("SITE_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--token", default=os.environ.get("HITL_DEMO_AGENT_TOKEN", "cs_demo_agent_token_for_local_use_only")
    )
    parser.add_argument("--interval", type=float, default=8.0, help="Mean seconds between proposals.")
    parser.add_argument("--count", type=int, default=0, help="Stop after this many (0: never).")
    parser.add_argument("--seed", type=int, default=None)
    options = parser.parse_args(argv)
    rng = random.Random(options.seed)
    sent = 0
    with Client(options.url, options.token) as client:
        while not options.count or sent < options.count:
            action, params, fields = realistic_proposal(rng)
            try:
                answer = client.propose(action, params, **fields)
                print(f"proposed {action}: {answer['status']} — {answer['summary']}", flush=True)
                if answer["status"] == "approved":
                    client.report(answer["id"], succeeded=True, output={"ok": True})
            except (ApiError, httpx.HTTPError) as error:
                print(f"proposal failed: {error}", file=sys.stderr, flush=True)
            sent += 1
            time.sleep(rng.expovariate(1 / options.interval) if options.interval else 0)


if __name__ == "__main__":
    main()
