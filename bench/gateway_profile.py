"""Where an autonomous MCP `tools/call` spends its time (docs/performance.md, issue 29 quotes it):
the real ASGI application served by uvicorn in this process, the bench's upstream, and a plain
JSON-RPC client (2026-07-28, no SDK on the client side, so that its cost stays out):

- each call's wall time through `/mcp/` and the same call to the upstream directly;
- every hop to a database thread (`hitl_lib.dbthreads.database`): which function, its time in
  the thread and the time the hop itself adds (queueing, waking the loop);
- every SQL statement the calls sent, with BEGIN and COMMIT, counted per call;
- pyinstrument over the event loop's thread.

    .venv/bin/python -m bench.gateway_profile [--calls 200]

Runs on the bench's own database (a fresh one), never the developer's.
"""

import argparse
import asyncio
import os
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": "tools/call",
}
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


def main():
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_profile")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    os.environ["HITL_RUN_DIR"] = str(BASE_DIR / ".run" / "bench")
    from bench.harness import SCALES
    from bench.stack import Stack

    stack = Stack(SCALES["tiny"])
    try:
        stack.up()
        asyncio.run(profile(stack, args.calls))
    finally:
        stack.down()


def body(name, n):
    return {
        "jsonrpc": "2.0",
        "id": n,
        "method": "tools/call",
        "params": {"name": name, "arguments": {"query": f"order {n}"}, "_meta": META},
    }


async def profile(stack, calls):
    import httpx
    import uvicorn
    from pyinstrument import Profiler

    from bench.gateway import LOOKUP, list_tools, upstream_server
    from bench.stack import _free_port
    from gateway.models import Upstream
    from hitl_site.asgi import application
    from policies.models import ActionType, Agent

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(application, port=port, lifespan="on", log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    web_url = f"http://127.0.0.1:{port}"
    hops, statements = watch_database()
    with upstream_server() as upstream_url:
        await asyncio.to_thread(Upstream.objects.create, name="bench", transport="http", url=upstream_url, timeout=60)
        token = await asyncio.to_thread(lambda: Agent.objects.create(name="profiled").issue_token(label="bench"))
        await list_tools(web_url, token)
        await asyncio.to_thread(
            lambda: ActionType.objects.filter(key=LOOKUP).update(
                status="active", autonomy="autonomous", first_use_threshold=0
            )
        )
        headers = {**HEADERS, "Authorization": f"Bearer {token}", "Mcp-Name": "bench__lookup"}
        direct_headers = {**HEADERS, "Mcp-Name": "lookup"}
        through, direct = [], []
        async with httpx.AsyncClient(base_url=web_url, headers=headers) as gateway, httpx.AsyncClient() as upstream:
            for n in range(20):  # warm both sides
                await call(gateway, "/mcp/", "bench__lookup", n)
                await call(upstream, upstream_url, "lookup", n, direct_headers)
            hops.clear()
            statements.clear()
            with Profiler(interval=0.0002, async_mode="disabled") as profiler:
                for n in range(calls):
                    began = time.perf_counter()
                    await call(upstream, upstream_url, "lookup", n, direct_headers)
                    direct.append((time.perf_counter() - began) * 1000)
                    began = time.perf_counter()
                    await call(gateway, "/mcp/", "bench__lookup", n)
                    through.append((time.perf_counter() - began) * 1000)
            pings, direct_pings = [], []
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": META}}
            for _ in range(calls):
                began = time.perf_counter()
                await upstream.post(upstream_url, json=ping, headers={**direct_headers, "Mcp-Method": "ping"})
                direct_pings.append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                await gateway.post("/mcp/", json=ping, headers={"Mcp-Method": "ping"})
                pings.append((time.perf_counter() - began) * 1000)
            ping_through, ping_direct = statistics.median(pings), statistics.median(direct_pings)
            print(f"ping through /mcp/ p50 {ping_through:.2f} ms, direct {ping_direct:.2f} ms")
            in_thread = await asyncio.to_thread(profile_database_functions, token, calls)
    server.should_exit = True
    await serving
    report(stack, profiler, calls, through, direct, hops, statements)
    print("\n=== pyinstrument over the database thread's functions, called directly (same order)")
    print(in_thread.output_text(unicode=True, color=False, short_mode=True))


def self_time_by_package(profiler):
    """Self time of every frame, summed by the package its file belongs to."""
    totals = Counter()
    stack = [profiler.last_session.root_frame()]
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        if frame.is_synthetic:
            continue  # its time is its parent's self time
        path = frame.file_path or "?"
        if "site-packages/" in path:
            package = path.split("site-packages/")[1].split("/")[0]
        elif "/python3.11/" in path:
            package = "stdlib " + path.split("/python3.11/")[1].split("/")[0]
        elif str(BASE_DIR) in path:
            package = path.replace(str(BASE_DIR) + "/", "").split("/")[0]
        else:
            package = f"{path} ({frame.function})"
        totals[package] += frame.total_self_time
    return totals


def profile_database_functions(token, calls):
    """`calls.propose` and `calls.record_result` as a `tools/call` runs them, in this thread."""
    from django.db import connections
    from mcp_types import CallToolResult, TextContent
    from pyinstrument import Profiler

    from approvals.agent_auth import agent_for_authorization
    from gateway import calls as gateway_calls
    from gateway.server import Run

    try:
        with Profiler(interval=0.0002) as profiler:
            for n in range(calls):
                agent = agent_for_authorization(f"Bearer {token}")
                run = Run(f"mcp-call-{n}", False)
                arguments = {"query": f"order {n}"}
                _, _, action, _ = gateway_calls.propose(agent=agent, name="bench__lookup", arguments=arguments, run=run)
                result = CallToolResult(content=[TextContent(type="text", text=f"found: order {n}")])
                gateway_calls.record_result(action, result, sole=True)
        return profiler
    finally:
        connections.close_all()


async def call(client, url, name, n, headers=None):
    answer = await client.post(url, json=body(name, n), headers=headers)
    result = answer.json()
    text = result["result"]["content"][0]["text"]
    if text != f"found: order {n}":
        raise RuntimeError(f"{name} answered {result}")


def watch_database():
    """Time every `database()` hop and log every statement the threads send (BEGIN and COMMIT
    included, which Django's own query log leaves out)."""
    import psycopg

    from hitl_lib import dbthreads

    hops, statements = defaultdict(list), []
    original = dbthreads.DatabaseThreads.run

    async def timed(self, function, *args, **kwargs):
        inner = []

        def measured(*a, **k):
            began, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*a, **k)
            finally:
                inner.append(((time.perf_counter() - began) * 1000, (time.thread_time() - cpu) * 1000))

        began = time.perf_counter()
        try:
            return await original(self, measured, *args, **kwargs)
        finally:
            total = (time.perf_counter() - began) * 1000
            hops[getattr(function, "__qualname__", repr(function))].append(
                (total, *(inner[0] if inner else (total, 0)))
            )

    dbthreads.DatabaseThreads.run = timed

    def execute(self, query, params=None, **kwargs):
        began = time.perf_counter()
        try:
            return plain_execute(self, query, params, **kwargs)
        finally:
            text = query.decode() if isinstance(query, bytes) else str(query)
            statements.append((" ".join(text.split())[:110] or repr(query), (time.perf_counter() - began) * 1000))

    plain_execute = psycopg.Cursor.execute
    psycopg.Cursor.execute = execute
    psycopg.ClientCursor.execute = execute

    from psycopg._connection_base import BaseConnection

    plain_command = BaseConnection._exec_command

    def command(self, command, *args, **kwargs):
        began = time.perf_counter()
        try:
            return (yield from plain_command(self, command, *args, **kwargs))
        finally:
            text = command.decode() if isinstance(command, bytes) else str(command)
            statements.append((text, (time.perf_counter() - began) * 1000))

    BaseConnection._exec_command = command
    return hops, statements


def report(stack, profiler, calls, through, direct, hops, statements):
    def p(values, q):
        return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]

    print(f"\n=== {calls} autonomous tools/call, in process (uvicorn in this loop), one at a time")
    print(f"through /mcp/: p50 {p(through, 50):.2f} ms, p95 {p(through, 95):.2f} ms")
    print(f"direct:        p50 {p(direct, 50):.2f} ms, p95 {p(direct, 95):.2f} ms")
    print(f"overhead p50 {p(through, 50) - p(direct, 50):.2f} ms")
    print("\ndatabase() hops per call: function, count/call, median ms: total, in the thread, its CPU")
    for name, samples in sorted(hops.items(), key=lambda item: -sum(sample[0] for sample in item[1])):
        medians = [statistics.median(column) for column in zip(*samples, strict=True)]
        print(f"  {name:40} {len(samples) / calls:5.2f}  " + "  ".join(f"{value:6.2f}" for value in medians))
    print(f"\nSQL statements per call: {len(statements) / calls:.1f}")
    kinds = Counter()
    times = defaultdict(float)
    for text, ms in statements:
        kinds[text[:90]] += 1
        times[text[:90]] += ms
    for text, count in kinds.most_common(25):
        print(f"  {count / calls:5.2f}/call {times[text] / count:6.3f} ms  {text}")
    path = stack.run_dir / "profile-gateway.html"
    path.write_text(profiler.output_html())
    print(f"\n=== pyinstrument over the event loop's thread; HTML in {path}")
    (stack.run_dir / "profile-gateway.txt").write_text(profiler.output_text(unicode=True, color=False))
    print(f"(text in {stack.run_dir / 'profile-gateway.txt'})")
    print("the loop thread's own time (not idle), by package, seconds over all calls:")
    for package, seconds in self_time_by_package(profiler).most_common(25):
        print(f"  {seconds:7.3f}  {package}")


if __name__ == "__main__":
    main()
