"""Cards read as sentences on real tools' schemas: labels from titles or keys (descriptions are
help text), long text collapsed behind "show all", code and paths in monospace and nothing else."""

import re

import pytest

from tests.schemas.conftest import corpus_type, schema_type

pytestmark = pytest.mark.django_db

REVIEW = {
    "owner": "acme",
    "repo": "billing",
    "pull_number": 42,
    "commit_id": "9f2c1e7",
    "body": "Looks good, one nit.",
    "event": "COMMENT",
    "comments": [{"path": "src/refunds.py", "line": 12, "body": "Rename this variable."}],
}


def card_of(client, action_id):
    inbox = client.get("/").content.decode()
    return inbox[inbox.index(f'id="action-{action_id}"') :].split("</article>")[0]


def params_of(card):
    return card[card.index('<dl class="params"') :].split("</dl>\n")[0]


@pytest.fixture
def review_type(supervisor):
    return corpus_type("github.review", "mcp_github_create_pull_request_review.json")


def test_an_mcp_schema_without_titles_is_labelled_by_its_keys_with_descriptions_as_help(
    client, supervisor, api, review_type
):
    action_id = api.propose(action="github.review", params=REVIEW).json()["id"]
    client.force_login(supervisor)

    listed = params_of(card_of(client, action_id))
    form = client.get(f"/actions/{action_id}/edit").content.decode()

    assert "<dt>Owner</dt>" in listed and "<dt>Pull number</dt>" in listed and "<dt>Commit id</dt>" in listed
    assert "<dt>Path</dt>" in listed and "<dt>Line</dt>" in listed  # inside a comment
    assert "Repository owner" not in listed and "The SHA of the commit" not in listed
    labels = re.findall(r"<(?:label|legend)[^>]*>([^<]*)</", form)
    assert {"Owner", "Pull number", "Commit id", "Comments", "Path", "Line"} <= set(labels)
    assert not [text for text in labels if "Repository" in text or "relative path" in text]
    assert '<small class="muted">Repository owner (username or organization)</small>' in form
    assert '<small class="muted">The relative path to the file being commented on</small>' in form


def test_a_long_text_is_collapsed_behind_show_all(client, supervisor, api, review_type):
    body = "The refund path rounds twice. " * 20
    action_id = api.propose(action="github.review", params={**REVIEW, "body": body}).json()["id"]
    client.force_login(supervisor)

    listed = params_of(card_of(client, action_id))

    assert f"show all ({len(body)} characters)" in listed
    assert '<details class="long"><summary><span class="first">The refund path rounds twice.' in listed
    assert f'<div class="full">{body}</div>' in listed
    assert "<dd>Rename this variable.</dd>" in listed  # a short text stays as it is


def test_code_and_paths_are_in_monospace(client, supervisor, api, review_type, edit_file_type):
    corpus_type("fs.move_file", "mcp_fs_move_file.json")
    corpus_type("postgres.query", "mcp_postgres_query.json")
    sql = "SELECT id, amount\nFROM refunds\nWHERE status = 'pending'\nAND amount > 500\nORDER BY created_at"
    review = api.propose(action="github.review", params=REVIEW).json()["id"]
    moved = api.propose(action="fs.move_file", params={"source": "/srv/a.txt", "destination": "~/b.txt"}).json()["id"]
    query = api.propose(action="postgres.query", params={"sql": sql}).json()["id"]
    edit = api.propose(
        action="fs.edit_file", params={"path": "config.py", "edits": [{"oldText": "A = 1", "newText": "A = 2"}]}
    ).json()["id"]
    client.force_login(supervisor)

    assert "<code>9f2c1e7</code>" in card_of(client, review)  # commit_id: a name ending in "id"
    assert "<code>src/refunds.py</code>" in card_of(client, review)
    assert "<code>/srv/a.txt</code>" in card_of(client, moved) and "<code>~/b.txt</code>" in card_of(client, moved)
    assert '<pre class="full">SELECT id, amount\nFROM refunds' in card_of(client, query)  # long: collapsed, as code
    assert "<code>config.py</code>" in card_of(client, edit) and "<code>A = 2</code>" in card_of(client, edit)
    assert "<code>acme</code>" not in card_of(client, review) and "<code>COMMENT</code>" not in card_of(client, review)


def test_a_name_that_only_contains_a_code_word_is_not_monospace(client, supervisor, api):
    words = {name: {"type": "string"} for name in ("provider", "profile", "video_guide", "shape", "codename")}
    action_type = schema_type("crm.update", "Update a contact", {"type": "object", "properties": words})
    params = {"provider": "Acme Identity", "profile": "Ana", "video_guide": "Intro", "shape": "round", "codename": "Ox"}
    action_id = api.propose(action=action_type.key, params=params).json()["id"]
    client.force_login(supervisor)

    listed = params_of(card_of(client, action_id))

    assert "<code>" not in listed and "<dd>Acme Identity</dd>" in listed


def test_schema_hints_make_a_value_monospace(client, supervisor, api):
    schema = {
        "type": "object",
        "properties": {
            "homepage": {"type": "string", "format": "uri"},
            "card_last4": {"type": "string", "pattern": "^[0-9]{4}$"},
            "note": {"type": "string", "pattern": "^[A-Za-z ]+$"},
        },
    }
    action_type = schema_type("crm.update", "Update a contact", schema)
    params = {"homepage": "https://acme.example/about", "card_last4": "4242", "note": "Call back later"}
    action_id = api.propose(action=action_type.key, params=params).json()["id"]
    client.force_login(supervisor)

    listed = params_of(card_of(client, action_id))

    assert "<code>https://acme.example/about</code>" in listed and "<code>4242</code>" in listed
    assert "<dd>Call back later</dd>" in listed  # a pattern that allows words is not a token
