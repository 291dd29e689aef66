"""`countersign-mcp`: for an MCP client that can only launch a command (a stdio server), relay
its messages to Countersign's MCP endpoint over streamable HTTP, with an agent's token.

    COUNTERSIGN_URL=https://countersign.example.com COUNTERSIGN_TOKEN=cs_… countersign-mcp

`COUNTERSIGN_URL` is the site's address (its `/mcp/` endpoint is used) or the endpoint itself.
Messages pass through unchanged both ways; the relay ends when either side does. Every request
carries the header `Countersign-Run-Id`, one value per relay process, so that the calls of one
client's run are one run in the inbox and the repair loop, whichever protocol revision it speaks. Needs the
`mcp` extra: `pip install "hitl-client[mcp]"`.
"""

import os
import sys
import uuid

import anyio
import httpx2
from mcp.client.streamable_http import streamable_http_client
from mcp.server.stdio import stdio_server


def endpoint(url):
    url = url.rstrip("/")
    return url + "/" if url.endswith("/mcp") else url + "/mcp/"


async def relay(url, token):
    # No read timeout: a call held for a person answers when they decide, maybe hours later.
    timeout = httpx2.Timeout(30.0, read=None)
    headers = {"Authorization": f"Bearer {token}", "Countersign-Run-Id": f"countersign-mcp-{uuid.uuid4().hex}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(endpoint(url), http_client=http) as (from_server, to_server),
        stdio_server() as (from_client, to_client),
        anyio.create_task_group() as relaying,
    ):

        async def pipe(source, sink):
            async with source, sink:
                async for message in source:
                    if isinstance(message, Exception):
                        print(f"countersign-mcp: {message}", file=sys.stderr)
                        continue
                    await sink.send(message)
            relaying.cancel_scope.cancel()  # one side ended: so does the relay

        relaying.start_soon(pipe, from_client, to_server)
        relaying.start_soon(pipe, from_server, to_client)


def main():
    url, token = os.environ.get("COUNTERSIGN_URL"), os.environ.get("COUNTERSIGN_TOKEN")
    if not url or not token:
        sys.exit("countersign-mcp: set COUNTERSIGN_URL (such as http://127.0.0.1:8000) and COUNTERSIGN_TOKEN")
    # Said once, plainly, rather than as a protocol error on the client's first request.
    try:
        answer = httpx2.get(endpoint(url), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except httpx2.HTTPError as error:
        sys.exit(f"countersign-mcp: cannot reach {endpoint(url)}: {error}")
    if answer.status_code == 401:
        sys.exit(f"countersign-mcp: {endpoint(url)} refused the token in COUNTERSIGN_TOKEN (401)")
    anyio.run(relay, url, token)


if __name__ == "__main__":
    main()
