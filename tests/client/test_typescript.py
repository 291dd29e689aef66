"""The TypeScript client (hitl-client-ts/) against a real Countersign: this test starts the live server
(Django's, on the test database), creates the agent, its action types and a supervisor, and runs the
package's own `npm test` with the URL, the agent's token and receipt secret, and the supervisor's login in
the environment. The node tests play the agent through the real npm packages of each framework, and the
reviewer through the inbox's own forms (a logged-in session posting what its buttons post).

The node dependencies come from the package's lockfile (`npm ci`, run by `make install` and `.ci/run`)."""

import json
import os
import shutil
import subprocess
import tarfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from approvals.callbacks import signed_headers
from approvals.models import Action
from approvals.receipts import agent_secret
from hitl_site import roles
from policies.models import ActionType
from tests.conftest import PASSWORD

PACKAGE = Path(__file__).resolve().parents[2] / "hitl-client-ts"
NPM = shutil.which("npm")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(NPM is None, reason="node and npm are not installed (.ci/run installs them)"),
]


def npm(*args, env=None, cwd=PACKAGE, timeout=900):
    return subprocess.run(
        [NPM, *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def countersign_types(refund_type, supervisor):
    """The refund (irreversible, confirm, amount editable) from conftest, plus a reversible email, an
    auto-approved tag and a suggest-only deploy; the supervisor reviews them all."""
    email = ActionType.objects.create(
        key="email.send",
        name="Send an email",
        params_schema={
            "type": "object",
            "required": ["to", "subject"],
            "properties": {"to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}},
        },
        summary_template="Email {{ to }}: {{ subject }}",
        autonomy="confirm",
        editable_params=["subject", "body"],
        sla=timedelta(minutes=30),
        first_use_threshold=0,
    )
    tag = ActionType.objects.create(
        key="tickets.tag",
        name="Tag a ticket",
        params_schema={"type": "object"},
        autonomy="audit",
        first_use_threshold=0,
    )
    deploy = ActionType.objects.create(
        key="deploy.production", name="Deploy", params_schema={"type": "object"}, autonomy="suggest"
    )
    for action_type in (email, tag, deploy):
        assign_perm("policies.review_actiontype", Group.objects.get(name=roles.SUPERVISORS), action_type)
    return [refund_type, email, tag, deploy]


def callback_sample(agent):
    """A decision callback as the server signs it (approvals.callbacks, the standardwebhooks library) under
    the agent's callback secret, for the node tests to verify: the check must agree across languages."""
    body = json.dumps({"id": "3f0c", "action": "email.send", "status": "approved", "summary": "Café ✓"}).encode()
    headers = signed_headers(SimpleNamespace(webhook_id="msg_2Ld0x"), body, agent.callback_secret())
    return json.dumps({"secret": agent.callback_secret(), "body": body.decode(), "headers": headers})


def test_npm_test_passes_against_a_live_countersign(live_server, agent, token, supervisor, countersign_types):
    env = {
        "COUNTERSIGN_CALLBACK_SAMPLE": callback_sample(agent),
        "COUNTERSIGN_URL": live_server.url,
        "COUNTERSIGN_TOKEN": token,
        "COUNTERSIGN_RECEIPT_SECRET": agent_secret(agent),
        "COUNTERSIGN_REVIEWER": supervisor.username,
        "COUNTERSIGN_REVIEWER_PASSWORD": PASSWORD,
    }
    # NODE_TESTS=tests/langgraph.test.mjs (paths inside the package) runs only those files, while developing.
    only = os.environ.get("NODE_TESTS")
    run = npm("run", "test:only", "--", *only.split(), env=env) if only else npm("test", env=env)
    print(run.stdout)  # the TAP report, shown with -s or on failure

    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    # The node tests ran, and they talked to this server: the actions they proposed are here.
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
    assert Action.objects.filter(agent=agent).count() >= 10


def test_the_generated_types_match_the_servers_openapi_document(client, tmp_path):
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(client.get("/api/v1/openapi.json").json()))

    check = subprocess.run(
        ["node", "scripts/generate-types.mjs", str(document), "--check"], cwd=PACKAGE, capture_output=True, text=True
    )

    assert check.returncode == 0, check.stderr


def test_npm_pack_gives_a_tarball_a_user_installs_and_imports(tmp_path):
    packed = npm("pack", "--json", "--pack-destination", str(tmp_path))
    assert packed.returncode == 0, packed.stderr
    tarball = tmp_path / json.loads(packed.stdout)[0]["filename"]
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "package/dist/index.js" in names and "package/dist/index.d.ts" in names and "package/README.md" in names
    assert not [n for n in names if "/test/" in n or n.endswith(".mjs.map")]

    user = tmp_path / "agent"
    user.mkdir()
    (user / "package.json").write_text('{"name": "my-agent", "type": "module", "private": true}')
    installed = npm("install", "--no-audit", "--no-fund", "--offline", str(tarball), cwd=user)
    assert installed.returncode == 0, installed.stderr
    script = (
        "import { Client, Rejected, verifyCallback } from 'hitl-client';"
        "const c = new Client('http://127.0.0.1:1', 't');"
        "console.log(JSON.stringify([typeof c.propose, Rejected.name, typeof verifyCallback]));"
    )
    imported = subprocess.run(["node", "--input-type=module", "-e", script], cwd=user, capture_output=True, text=True)

    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout) == ["function", "Rejected", "function"]
    # No runtime dependency: the install brought the package alone.
    assert sorted(p.name for p in (user / "node_modules").iterdir() if not p.name.startswith(".")) == ["hitl-client"]
