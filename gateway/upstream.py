"""Sessions with upstream MCP servers, as asyncio code for the ASGI process.

One long-lived session per upstream per process, shared by every concurrent call (JSON-RPC
matches answers to requests by id). The session is opened on first use and held by a task of its
own, since the SDK's client must be entered and left in one task. A stdio server that exits,
crashes, hangs past its timeout or breaks the protocol loses its session: the next use starts it
again. Nothing here retries a `tools/call`: a call that failed may have run upstream, so it is
reported, never sent a second time.
"""

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT, Implementation, PaginatedRequestParams
from pydantic import ValidationError

log = logging.getLogger(__name__)

CLIENT_INFO = Implementation(name="countersign-gateway", version="1")
MAX_LIST_PAGES = 100  # a server whose cursor never ends cannot hang a listing
CLOSE_SECONDS = 10  # the SDK's stdio shutdown is bounded at about 6 s (stdin closed, SIGTERM, SIGKILL)


@dataclass(frozen=True)
class Spec:
    """How to reach one upstream, as plain data (`Upstream.connection_spec()`)."""

    name: str
    transport: str  # "stdio" or "http"
    command: str = ""
    args: tuple = ()
    env: tuple = ()  # (name, value) pairs
    cwd: str = ""
    url: str = ""
    headers: tuple = ()
    timeout: float = 30.0


class UpstreamError(Exception):
    """The upstream could not answer: it would not start, crashed, hung past its timeout, or broke
    the protocol. The message says which, for the MCP client and the action's outcome."""

    def __init__(self, spec, message):
        super().__init__(f"MCP server '{spec.name}' {message}")


class Session:
    def __init__(self, spec):
        self.spec = spec
        self._client = None
        self._runner = None
        self._ended = asyncio.Event()
        self._stop = asyncio.Event()
        self._opening = asyncio.Lock()

    async def list_tools(self):
        """Every tool the server lists, as JSON (camelCase, as on the wire)."""
        client = await self._connected()
        tools, cursor = [], None
        for _ in range(MAX_LIST_PAGES):
            page = await self._answer(
                client.session.list_tools(params=PaginatedRequestParams(cursor=cursor)), "tools/list"
            )
            tools += page.tools
            cursor = page.next_cursor
            if cursor is None:
                break
        return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]

    async def call_tool(self, name, arguments, *, progress=None):
        """The server's `CallToolResult`, as it answered; `progress(progress, total, message)` hears
        its progress notifications."""
        client = await self._connected()
        return await self._answer(
            client.session.call_tool(
                name, arguments, read_timeout_seconds=self.spec.timeout, progress_callback=progress
            ),
            f"tools/call {name}",
        )

    async def close(self):
        self._stop.set()
        if self._runner is not None:
            with anyio.move_on_after(CLOSE_SECONDS):
                await asyncio.shield(self._runner)
        self._client = None

    async def _connected(self):
        async with self._opening:
            if self._client is not None and not self._ended.is_set():
                return self._client
            await self.close()
            self._ended, self._stop = asyncio.Event(), asyncio.Event()
            ready = asyncio.get_running_loop().create_future()
            self._runner = asyncio.create_task(self._run(ready, self._ended, self._stop), name=f"mcp {self.spec.name}")
            try:
                self._client = await asyncio.wait_for(asyncio.shield(ready), self.spec.timeout)
            except TimeoutError:
                self._stop.set()
                raise UpstreamError(self.spec, f"did not finish connecting within {self.spec.timeout:g} s") from None
            except Exception as error:
                raise UpstreamError(self.spec, f"could not be started or reached: {describe(error)}") from None
            return self._client

    async def _run(self, ready, ended, stop):
        """Hold the client open until asked to stop or until the server ends the connection."""
        try:
            async with Client(self._transport(ended), read_timeout_seconds=self.spec.timeout, client_info=CLIENT_INFO,
                              cache=None) as client:  # fmt: skip
                ready.set_result(client)
                stopped, gone = asyncio.create_task(stop.wait()), asyncio.create_task(ended.wait())
                try:
                    await asyncio.wait([stopped, gone], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopped.cancel()
                    gone.cancel()
        except Exception as error:
            if not ready.done():
                ready.set_exception(error)
            else:
                log.warning("MCP server '%s': session ended: %s", self.spec.name, describe(error))
        finally:
            ended.set()

    @asynccontextmanager
    async def _transport(self, ended):
        if self.spec.transport == "stdio":
            parameters = StdioServerParameters(
                command=self.spec.command, args=list(self.spec.args), env=dict(self.spec.env), cwd=self.spec.cwd or None
            )
            async with stdio_client(parameters) as (read, write):
                yield EndWatch(read, ended), write
            return
        timeout = httpx2.Timeout(self.spec.timeout, read=None)  # each request has its own timeout
        async with (
            httpx2.AsyncClient(headers=dict(self.spec.headers), timeout=timeout) as http,
            streamable_http_client(self.spec.url, http_client=http) as (read, write),
        ):
            yield EndWatch(read, ended), write

    async def _answer(self, request, what):
        try:
            return await request
        except MCPError as error:
            if error.error.code == CONNECTION_CLOSED:
                self._ended.set()
                raise UpstreamError(self.spec, f"closed the connection during {what} (it exited or crashed)") from None
            if error.error.code == REQUEST_TIMEOUT:
                if self.spec.transport == "stdio":
                    self._ended.set()  # a hung process is stopped; the next use starts a new one
                raise UpstreamError(self.spec, f"did not answer {what} within {self.spec.timeout:g} s") from None
            raise UpstreamError(
                self.spec, f"answered {what} with error {error.error.code}: {error.error.message}"
            ) from None
        except (ValidationError, RuntimeError) as error:
            if self.spec.transport == "stdio":
                self._ended.set()  # a process that broke the protocol once is not trusted with the next call
            raise UpstreamError(self.spec, f"broke the protocol answering {what}: {describe(error)}") from None


class EndWatch:
    """An upstream's read stream that sets `ended` when it ends, so that a server that crashed
    while idle is noticed before the next call is sent to it."""

    def __init__(self, stream, ended):
        self._stream = stream
        self._ended = ended

    def __getattr__(self, name):
        return getattr(self._stream, name)

    async def receive(self):
        try:
            return await self._stream.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._ended.set()
            raise

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self):
        await self._stream.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.aclose()


class Sessions:
    """This process's sessions, one per upstream; a changed spec (an admin edited the server)
    closes the old session and opens a new one on next use."""

    def __init__(self):
        self._sessions = {}
        self._closing = set()  # the tasks closing replaced sessions, kept until they finish
        self.listings = {}  # upstream name → its listing in flight, shared by concurrent tools/list

    def for_spec(self, spec):
        session = self._sessions.get(spec.name)
        if session is not None and session.spec != spec:
            closing = asyncio.get_running_loop().create_task(session.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
            session = None
        if session is None:
            session = self._sessions[spec.name] = Session(spec)
        return session

    async def close_all(self):
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(session.close() for session in sessions))


def describe(error):
    """The first real error inside anyio's exception groups, in a line."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = str(error) or type(error).__name__
    return text if len(text) < 300 else text[:300] + "…"
