"""The gateway served for real: Countersign's ASGI application under uvicorn in a thread (on the
test database; `asgi_url` in tests/conftest.py), real upstream MCP servers (mcp-server-git over
stdio on a throwaway repository, and the tests' own SDK server), and the SDK's own client as the agent."""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx2
import pytest
from django.db import connection
from mcp import Client
from mcp.client.extension import ClientExtension, ResultClaim
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, GetTaskRequest, GetTaskRequestParams, Result

from gateway.models import Upstream

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent


def free_socket():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def gateway_url(asgi_url):
    """Countersign's ASGI application, `/mcp/` and Django both, as a deployment serves it."""
    return asgi_url


@contextlib.asynccontextmanager
async def mcp_client(url, token, headers=None, **options):
    """The SDK's client, connected to the gateway with an agent's bearer token."""
    headers = {"Authorization": f"Bearer {token}", **(headers or {})}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=None)) as http,
        Client(streamable_http_client(url + "/mcp/", http_client=http), **options) as client,
    ):
        yield client


@pytest.fixture
def repo(tmp_path):
    """A throwaway git repository with one commit and one staged change."""
    path = tmp_path / "repo"
    path.mkdir()

    def git(*args):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "tests@example.com")
    git("config", "user.name", "Tests")
    (path / "README").write_text("hello\n")
    git("add", "README")
    git("commit", "-q", "-m", "first")
    (path / "README").write_text("hello, world\n")
    git("add", "README")
    return path


def git_log(repo):
    return subprocess.run(["git", "log", "--format=%s"], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_upstream(transactional_db, repo):
    return Upstream.objects.create(
        name="git", command=str(BIN / "mcp-server-git"), args=["--repository", str(repo)], timeout=60
    )


@pytest.fixture
def state_dir(tmp_path):
    path = tmp_path / "notes-state"
    path.mkdir()
    return path


@pytest.fixture
def notes_stdio(transactional_db, state_dir):
    """The tests' own server over stdio, with a short timeout."""
    return Upstream.objects.create(
        name="notes", command=sys.executable, args=[str(HERE / "upstream_server.py"), str(state_dir)], timeout=20
    )


@pytest.fixture
def notes_http(transactional_db, state_dir):
    """The tests' own server over streamable HTTP, in a process of its own."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    process = subprocess.Popen(
        [sys.executable, str(HERE / "upstream_server.py"), str(state_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    while True:  # until it listens (or has died)
        if process.poll() is not None:
            raise RuntimeError("the test's MCP server did not start")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        threading.Event().wait(0.05)
    upstream = Upstream.objects.create(
        name="notes", transport="http", url=f"http://127.0.0.1:{port}/mcp", headers={"X-Test": "yes"}, timeout=20
    )
    upstream.process = process
    yield upstream
    process.kill()
    process.wait()


class Tasks(ClientExtension):
    """The Tasks extension (`io.modelcontextprotocol/tasks`) on the SDK's client, which has only the
    hooks for it: a `tools/call` answered with a task handle is resolved by polling `tasks/get` at
    the interval the server asks for. Every state polled is kept in `seen`, for the test to read."""

    identifier = "io.modelcontextprotocol/tasks"

    def __init__(self):
        self.seen = []

    def claims(self):
        return [ResultClaim(result_type="task", model=TaskHandle, resolve=self.resolve)]

    async def resolve(self, handle, context):
        self.seen.append(handle)
        while True:
            request = GetTaskRequest(params=GetTaskRequestParams(task_id=handle.task_id))
            state = await context.session.send_request(request, TaskState)
            self.seen.append(state)
            if state.status == "completed":
                return CallToolResult.model_validate(state.result)
            if state.status != "working":
                raise RuntimeError(f"task {state.status}: {state.status_message}")
            await asyncio.sleep(state.poll_interval_ms / 1000)


class TaskHandle(Result):
    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    status_message: str | None = None
    poll_interval_ms: int | None = None
    ttl_ms: int | None = None


class TaskState(Result):
    task_id: str
    status: str
    status_message: str | None = None
    poll_interval_ms: int | None = None
    result: dict | None = None
    error: dict | None = None


def free_port():
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def web_processes(transactional_db):
    """Two web processes of their own (uvicorn, as a deployment runs replicas), on the test
    database: their base URLs. Nothing ties a client to either."""
    test_database = "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=test_database))}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    processes, urls = [], []
    for _ in range(2):
        port = free_port()
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "hitl_site.asgi:application",
                    "--port",
                    str(port),
                    "--lifespan",
                    "on",
                    "--log-level",
                    "warning",
                ],  # fmt: skip
                cwd=HERE.parent.parent,
                env=env,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    for process, url in zip(processes, urls, strict=True):
        while True:
            assert process.poll() is None, "a web process did not start"
            with contextlib.suppress(httpx2.HTTPError):
                httpx2.get(url + "/healthz", timeout=2)
                break
            threading.Event().wait(0.1)
    yield urls
    for process in processes:
        process.terminate()
        process.wait(20)
