"""Upstream MCP servers are policy: declared in the policies document (secrets never exported in
clear), edited in the admin, every change a `policy.changed` event; and a tool whose schema
changes upstream is held for review rather than changing what reviewers approve."""

import io
import json

import pytest
import yaml
from django.core.management import CommandError, call_command

from audit.models import Event
from gateway.models import Upstream, UpstreamTool, secret_fingerprint, split_tool_name, tool_name
from policies.models import ActionType

pytestmark = pytest.mark.django_db

TOKEN = "ghp_secretpart1234567890"
COMMIT = {
    "name": "git_commit",
    "description": "Records changes to the repository",
    "inputSchema": {
        "type": "object",
        "properties": {"repo_path": {"type": "string"}, "message": {"type": "string"}},
        "required": ["repo_path", "message"],
    },
    "annotations": {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": False},
}


def export():
    out = io.StringIO()
    call_command("policies", "export", stdout=out)
    return yaml.safe_load(out.getvalue())


def import_(tmp_path, document):
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(document))
    out = io.StringIO()
    call_command("policies", "import", str(path), stdout=out)
    return out.getvalue()


@pytest.fixture
def git(db):
    return Upstream.objects.create(
        name="git", command="mcp-server-git", args=["--repository", "/srv/repo"], env={"GITHUB_TOKEN": TOKEN}
    )


def test_the_export_shows_a_secret_only_as_its_fingerprint_and_imports_back_unchanged(tmp_path, git):
    document = export()

    server = document["mcp_servers"]["git"]
    assert server["command"] == "mcp-server-git" and server["args"] == ["--repository", "/srv/repo"]
    assert server["env"] == {"GITHUB_TOKEN": secret_fingerprint(TOKEN)}
    assert TOKEN not in yaml.safe_dump(document)
    assert import_(tmp_path, document).startswith("No changes")
    assert Upstream.objects.get(name="git").env == {"GITHUB_TOKEN": TOKEN}


def test_an_import_reads_secrets_from_the_environment_and_is_audited_without_them(tmp_path, monkeypatch, db):
    monkeypatch.setenv("SEARCH_AUTH", "Bearer s3cret-value")

    out = import_(
        tmp_path,
        {
            "version": 1,
            "mcp_servers": {
                "search": {"url": "https://mcp.example.com/mcp", "headers_from": {"Authorization": "SEARCH_AUTH"}}
            },
        },
    )

    search = Upstream.objects.get(name="search")
    assert (search.transport, search.headers) == ("http", {"Authorization": "Bearer s3cret-value"})
    assert "Changed MCP server search" in out
    event = Event.objects.get(kind="policy.changed", data__mcp_server="search")
    assert "s3cret" not in json.dumps(event.data)


@pytest.mark.parametrize(
    ("server", "error"),
    [
        ({"command": "x", "env": {"GITHUB_TOKEN": "(secret, fingerprint 0000000000000000)"}}, "fingerprint"),
        ({"command": "x", "url": "https://mcp.example.com/"}, "either a command (stdio) or a url"),
        ({"url": "https://user:pw@mcp.example.com/"}, "not in the URL"),
        ({"command": "x", "env_from": {"TOKEN": "NOT_SET_ANYWHERE"}}, "NOT_SET_ANYWHERE is unset"),
        ({"command": "x", "timeout": -1}, "Between 0 and 3600"),
    ],
)
def test_a_bad_server_is_refused_and_nothing_is_applied(tmp_path, git, server, error):
    with pytest.raises(CommandError, match="Nothing was applied") as refused:
        import_(tmp_path, {"version": 1, "mcp_servers": {"git": server}})

    assert error in str(refused.value)
    assert Upstream.objects.get(name="git").command == "mcp-server-git"


def test_an_admin_change_is_a_policy_change_event_with_its_diff(client, git, policy_admin):
    client.force_login(policy_admin)

    response = client.post(
        f"/admin/gateway/upstream/{git.pk}/change/",
        {
            "name": "git",
            "description": "",
            "transport": "stdio",
            "enabled": "on",
            "timeout": "45",
            "command": "mcp-server-git",
            "args": '["--repository", "/srv/other"]',
            "env": json.dumps({"GITHUB_TOKEN": TOKEN}),
            "cwd": "",
            "url": "",
            "headers": "{}",
            "tools-TOTAL_FORMS": "0",
            "tools-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()
    event = Event.objects.filter(kind="policy.changed", data__mcp_server="git").latest("seq")
    assert event.actor_name == "pat"
    assert event.data["diff"] == {
        "args": {"from": ["--repository", "/srv/repo"], "to": ["--repository", "/srv/other"]},
        "timeout": {"from": 30.0, "to": 45.0},
    }


def test_a_listed_tool_becomes_a_draft_type_at_confirm_with_its_schema_and_risk(git):
    (tool, action_type), *_ = git.register_listing([COMMIT, {**COMMIT, "name": "git_reset", "annotations": {}}])

    assert tool.namespaced_name == "git__git_commit"
    assert (action_type.key, action_type.status, action_type.autonomy) == ("mcp.git.git_commit", "draft", "confirm")
    assert action_type.params_schema == COMMIT["inputSchema"]
    assert (action_type.irreversible, action_type.blast_radius) == (False, "low")
    # No hints: MCP's defaults are destructive and open-world.
    reset = ActionType.objects.get(key="mcp.git.git_reset")
    assert (reset.irreversible, reset.blast_radius) == (True, "medium")


@pytest.mark.parametrize(
    ("annotations", "irreversible", "blast_radius"),
    [
        ({}, True, "medium"),
        ({"destructiveHint": True, "openWorldHint": True}, True, "medium"),
        ({"destructiveHint": False, "openWorldHint": False}, False, "low"),
        ({"destructiveHint": False}, False, "medium"),
        ({"openWorldHint": False}, True, "low"),
        # readOnlyHint is the server's claim: it never lowers the risk the other hints give.
        ({"readOnlyHint": True}, True, "medium"),
        ({"readOnlyHint": True, "destructiveHint": True, "openWorldHint": False}, True, "low"),
        ({"readOnlyHint": True, "destructiveHint": False, "openWorldHint": False}, False, "low"),
        ({"readOnlyHint": False, "destructiveHint": False, "openWorldHint": False}, False, "low"),
    ],
)
def test_the_risk_follows_destructive_and_open_world_hints_only(git, annotations, irreversible, blast_radius):
    git.register_listing([{**COMMIT, "name": "tool", "annotations": annotations}])

    action_type = ActionType.objects.get(key="mcp.git.tool")
    assert (action_type.irreversible, action_type.blast_radius) == (irreversible, blast_radius)


def test_a_tool_that_only_claims_to_be_read_only_is_held_for_a_person(git, api):
    git.register_listing([{**COMMIT, "name": "peek", "annotations": {"readOnlyHint": True}}])
    ActionType.objects.filter(key="mcp.git.peek").update(status="active", autonomy="autonomous",
                                                         first_use_threshold=0)  # fmt: skip

    held = api.propose("mcp.git.peek", {"repo_path": "/srv/repo", "message": "x"}).json()

    assert held["status"] == "pending"
    assert "irreversible: a person confirms before it runs" in held["route"]["reasons"]


def test_the_admin_shows_the_read_only_claim_as_a_hint(client, git, policy_admin):
    git.register_listing([{**COMMIT, "name": "peek", "annotations": {"readOnlyHint": True}}])
    client.force_login(policy_admin)

    response = client.get("/admin/gateway/upstreamtool/")

    assert response.status_code == 200
    assert "says read-only (a hint, not a permission: it lowers no risk)" in response.content.decode()


def test_a_type_the_document_declared_keeps_its_level_and_its_risk_is_only_raised(git):
    ActionType.objects.create(key="mcp.git.git_reset", name="mcp.git.git_reset", autonomy="autonomous")

    git.register_listing([{**COMMIT, "name": "git_reset", "annotations": {"destructiveHint": True}}])

    reset = ActionType.objects.get(key="mcp.git.git_reset")
    assert (reset.autonomy, reset.status, reset.irreversible) == ("autonomous", "active", True)
    assert reset.params_schema == COMMIT["inputSchema"] and reset.name == "git_reset"


def test_a_type_declared_before_its_tool_is_listed_reaches_a_supervisors_inbox(tmp_path, client, git, api):
    from hitl_site import roles
    from tests.conftest import make_user

    sam = make_user("sam", roles.SUPERVISORS)
    document = {"version": 1, "action_types": {"mcp.git.git_reset": {"name": "Reset the index", "autonomy": "confirm"}}}
    import_(tmp_path, document)
    git.register_listing([{**COMMIT, "name": "git_reset"}])

    held = api.propose("mcp.git.git_reset", {"repo_path": "/srv/repo", "message": "x"}).json()
    client.force_login(sam)
    inbox = client.get("/")

    assert held["status"] == "pending"
    assert [group.name for group in ActionType.objects.get(key="mcp.git.git_reset").reviewer_groups()] == [
        "supervisors"
    ]
    assert held["id"] in inbox.content.decode()


def test_a_changed_schema_holds_the_type_for_review_until_an_admin_accepts_it(client, git, api, agent, policy_admin):
    git.register_listing([COMMIT])
    ActionType.objects.filter(key="mcp.git.git_commit").update(status="active", autonomy="autonomous",
                                                               first_use_threshold=0)  # fmt: skip
    changed = {**COMMIT, "inputSchema": {**COMMIT["inputSchema"], "properties": {"message": {"type": "string"}}}}

    git.register_listing([changed])

    tool = UpstreamTool.objects.get(name="git_commit")
    commit = ActionType.objects.get(key="mcp.git.git_commit")
    assert tool.needs_review and commit.pause == "hold"
    assert commit.params_schema == COMMIT["inputSchema"]  # what reviewers approve has not changed
    held = api.propose("mcp.git.git_commit", {"repo_path": "/srv/repo", "message": "x"}).json()
    assert held["status"] == "pending"
    assert any("changed this tool's input schema" in reason for reason in held["route"]["reasons"])

    client.force_login(policy_admin)
    response = client.post("/admin/gateway/upstreamtool/", {"action": "accept_schema", "_selected_action": [tool.pk]})

    assert response.status_code == 302
    commit.refresh_from_db()
    assert commit.pause == "" and commit.params_schema == changed["inputSchema"]
    assert not UpstreamTool.objects.get(name="git_commit").needs_review
    assert Event.objects.filter(kind="policy.changed", action_type=commit.key, actor_name="pat").exists()


def test_a_tool_whose_namespaced_name_breaks_mcp_rules_is_withheld(git):
    listed = git.register_listing([{**COMMIT, "name": "x" * 130}, {**COMMIT, "name": "has space"}])

    assert listed == []
    assert all(tool.withheld_reason for tool in UpstreamTool.objects.all())
    assert not ActionType.objects.filter(key__startswith="mcp.").exists()


def test_a_tool_whose_action_key_would_be_outside_the_key_format_is_withheld(git):
    # Both fit MCP's rule as `git__…`; as `mcp.git.…` one has an empty segment, one 131 characters.
    listed = git.register_listing([{**COMMIT, "name": "a..b"}, {**COMMIT, "name": "x" * 123}, COMMIT])

    assert [tool.name for tool, _ in listed] == ["git_commit"]
    assert "not in the format" in UpstreamTool.objects.get(name="a..b").withheld_reason
    assert "131 characters" in UpstreamTool.objects.get(name="x" * 123).withheld_reason
    assert list(ActionType.objects.filter(key__startswith="mcp.").values_list("key", flat=True)) == [
        "mcp.git.git_commit"
    ]


def test_the_naming_rule_round_trips():
    assert tool_name("github-prod", "create_issue") == "github-prod__create_issue"
    assert split_tool_name("github-prod__create_issue") == ("github-prod", "create_issue")
    assert split_tool_name("git__tool__with__underscores") == ("git", "tool__with__underscores")
    assert split_tool_name("no_separator") is None
    assert split_tool_name("Bad__name") is None
