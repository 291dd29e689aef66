"""The gateway served for real: Countersign's ASGI application under uvicorn in a thread (on the
test database; `asgi_url` in tests/conftest.py), real upstream MCP servers (mcp-server-git over
stdio on a throwaway repository, and the tests' own SDK server), and the SDK's own client as the agent."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

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
async def mcp_client(url, token, **options):
    """The SDK's client, connected to the gateway with an agent's bearer token."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=None)) as http,
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
