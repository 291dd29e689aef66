"""The official MCP Python client, configured only with OAuth client credentials, connects to /mcp/:
it is refused with a 401 naming the resource metadata, discovers the authorization server from it,
gets a token for this resource from the real provider, and is served as the agent the token names."""

import asyncio
import sys
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import TokenStorage
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client

from audit.models import Event
from gateway.models import Upstream

pytestmark = pytest.mark.django_db(transaction=True)


class Memory(TokenStorage):
    def __init__(self):
        self.tokens = self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


async def connect_and_list_tools(asgi_url, provider, storage):
    auth = ClientCredentialsOAuthProvider(
        server_url=f"{asgi_url}/mcp/",
        storage=storage,
        client_id="billing-agent",
        client_secret="billing-agent-secret",
        issuer=provider.issuer,
    )
    async with (
        httpx2.AsyncClient(auth=auth, timeout=httpx2.Timeout(30, read=None)) as http,
        Client(streamable_http_client(f"{asgi_url}/mcp/", http_client=http)) as client,
    ):
        return await client.list_tools()


def test_the_mcp_client_gets_a_token_from_the_provider_and_connects(asgi_url, provider, agent, notes_upstream):
    storage = Memory()

    tools = asyncio.run(connect_and_list_tools(asgi_url, provider, storage))

    assert "notes__add_note" in {tool.name for tool in tools.tools}
    assert storage.tokens.scope == "countersign:agent"
    assert not Event.objects.filter(kind="user.login_failed").exists()


@pytest.fixture
def notes_upstream(transactional_db, tmp_path):
    """An upstream MCP server (the gateway tests' own) so the agent has tools to list."""
    server = Path(__file__).resolve().parent.parent / "gateway" / "upstream_server.py"
    return Upstream.objects.create(name="notes", command=sys.executable, args=[str(server), str(tmp_path)], timeout=20)
