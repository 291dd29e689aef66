"""A real OpenID provider for the identity tests: node's oidc-provider (tests/identity/provider/),
installed from its committed lockfile under .run/oidc-provider/ and started per test beside
Countersign's ASGI application (`asgi_url`). It serves two issuers: the one Countersign trusts and
another it does not. People are the accounts file's entries; a test removes one to deprovision."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings

from hitl_site import roles
from identity import access_tokens, oidc

HERE = Path(__file__).parent / "provider"
INSTALLED = Path(django_settings.RUN_DIR) / "oidc-provider"
PEOPLE = {
    "alice": {"email": "alice@example.com", "name": "Alice Example", "groups": ["cs-supervisors", "staff"]},
    "bob": {"email": "bob@example.com", "name": "Bob Example", "groups": []},
}


def install_provider():
    """npm ci from the committed lockfile, once per change of it."""
    lock = (HERE / "package-lock.json").read_bytes()
    marker = INSTALLED / "node_modules" / ".countersign-lock"
    if not (marker.exists() and marker.read_bytes() == lock):
        if shutil.which("npm") is None:
            pytest.fail("npm is needed for the identity tests' OpenID provider (.ci/run installs nodejs and npm)")
        INSTALLED.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HERE / name, INSTALLED / name)
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=INSTALLED,
            check=True,
            timeout=600,
        )
        marker.write_bytes(lock)
    shutil.copy(HERE / "provider.mjs", INSTALLED / "provider.mjs")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Provider:
    def __init__(self, issuer, other_issuer, accounts_file, process):
        self.issuer, self.other_issuer, self.accounts_file = issuer, other_issuer, accounts_file
        self.process = process

    def stop(self):
        """The provider goes down (an outage)."""
        self.process.terminate()
        self.process.wait(timeout=5)

    def remove(self, login):
        """Deprovision a person at the provider."""
        people = json.loads(self.accounts_file.read_text())
        del people[login]
        self.accounts_file.write_text(json.dumps(people))

    def token(self, client_id, *, resource, scope="countersign:agent", issuer=None):
        """An access token by the client credentials grant, as an agent gets one."""
        answer = httpx.post(
            f"{issuer or self.issuer}/token",
            data={"grant_type": "client_credentials", "resource": resource, "scope": scope},
            auth=(client_id, f"{client_id}-secret"),
        )
        answer.raise_for_status()
        return answer.json()["access_token"]


@pytest.fixture
def provider(asgi_url, tmp_path, settings):
    """The provider, running, and Countersign configured to trust it: people sign in through it
    (roles from its "groups" claim) and agents' tokens from it are accepted."""
    install_provider()
    roles.install()  # made by a migration, but a transactional test's flush empties the groups
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps(PEOPLE))
    ports = [free_port(), free_port()]
    process = subprocess.Popen(
        ["node", str(INSTALLED / "provider.mjs")],
        cwd=INSTALLED,
        env={
            **os.environ,
            "ISSUERS": ",".join(map(str, ports)),
            "ACCOUNTS_FILE": str(accounts),
            "REDIRECT_URI": f"{asgi_url}/accounts/oidc/callback/",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready = [process.stdout.readline().strip() for _ in ports]
        issuers = [f"http://127.0.0.1:{port}" for port in ports]
        if sorted(ready) != sorted(f"ready {issuer}" for issuer in issuers):
            raise RuntimeError(f"the OpenID provider did not start: {ready}")
        settings.HITL_OIDC_ISSUER = issuers[0]
        settings.HITL_OIDC_CLIENT_ID = "countersign"
        settings.HITL_OIDC_CLIENT_SECRET = "countersign-web-secret"
        settings.HITL_OIDC_PROVIDER_NAME = "Example IdP"
        settings.HITL_OIDC_SCOPES = "openid email profile groups"
        settings.HITL_OIDC_ROLE_MAP = {"cs-supervisors": "supervisors", "cs-auditors": "auditors"}
        settings.HITL_OAUTH_ISSUERS = [issuers[0]]
        settings.HITL_OAUTH_RESOURCE = asgi_url + "/"
        oidc._client.cache_clear()
        access_tokens._keys.clear()
        yield Provider(issuers[0], issuers[1], accounts, process)
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        oidc._client.cache_clear()
        access_tokens._keys.clear()
