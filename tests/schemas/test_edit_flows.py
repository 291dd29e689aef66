"""A reviewer edits parameters of real tools' schemas without JavaScript: rows added and removed
by a round trip, a variant chosen, null kept, formats checked, the diff by path."""

import json
import re

import pytest

from approvals.models import Action
from tests.schemas.test_corpus import submitted

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}

EDITS = {
    "path": "/srv/app/config.py",
    "edits": [
        {"oldText": "DEBUG = True", "newText": "DEBUG = False"},
        {"oldText": "PORT = 80", "newText": "PORT = 8080"},
    ],
}


def post_edit(client, action_id, data, url="edit", headers=None):
    return client.post(f"/actions/{action_id}/{url}", {"edited": "1", **data}, headers=headers)


def test_a_row_is_added_and_another_removed_without_javascript(client, supervisor, api, edit_file_type):
    action_id = api.propose(action="fs.edit_file", params=EDITS).json()["id"]
    client.force_login(supervisor)
    page = client.get(f"/actions/{action_id}/edit").content.decode()
    assert 'name="edits.1.newText"' in page and 'value="add:edits"' in page

    added = post_edit(client, action_id, {"edits.__rows": "2", "__op": "add:edits"}).content.decode()
    assert 'name="edits.2.oldText"' in added and 'name="edits.2.__new"' in added
    assert "Missing" not in added  # a row just added is not judged yet

    typed = {
        "edits.0.oldText": "DEBUG = True",
        "edits.0.newText": "DEBUG = False",
        "edits.1.oldText": "PORT = 80",
        "edits.1.newText": "PORT = 8080",
        "edits.2.oldText": "A",
        "edits.2.newText": "B",
    }
    removed = post_edit(
        client, action_id, {"edits.__rows": "3", "edits.2.__new": "1", **typed, "__op": "remove:edits.0"}
    ).content.decode()
    assert 'name="edits.2.oldText"' not in removed
    assert 'value="A"' in removed and 'value="PORT = 80"' in removed and 'value="DEBUG = True"' not in removed

    response = post_edit(
        client,
        action_id,
        {
            "edits.__rows": "2",
            "edits.1.__new": "1",
            "edits.1.oldText": "A",
            "edits.1.newText": "B",
            "edits.0.oldText": "PORT = 80",
            "edits.0.newText": "PORT = 8080",
        },
        url="approve",
    )
    assert response.status_code == 302
    final = Action.objects.get(pk=action_id).final_params
    assert final["edits"] == [{"oldText": "PORT = 80", "newText": "PORT = 8080"}, {"oldText": "A", "newText": "B"}]


def test_the_diff_names_a_nested_change_by_its_path_with_human_labels(client, supervisor, api, edit_file_type):
    action_id = api.propose(action="fs.edit_file", params=EDITS).json()["id"]
    client.force_login(supervisor)

    page = post_edit(client, action_id, {"edits.1.newText": "PORT = 9090"}).content.decode()

    assert "Edits › 2 › New text" in page and "edits[1].newText" in page
    assert "<del><code>PORT = 8080</code></del>" in page and "<ins><code>PORT = 9090</code></ins>" in page
    assert "{&#x27;" not in page


def test_a_nullable_variant_keeps_null_and_an_incomplete_one_names_the_missing_key(client, supervisor, api, slack_type):
    params = {"channel": "C024BE91L", "text": "Deploy at 5", "schedule": None}
    action_id = api.propose(action="slack.post_message", params=params).json()["id"]
    client.force_login(supervisor)
    page = client.get(f"/actions/{action_id}/edit").content.decode()
    assert "empty (null)</option>" in page and 'name="schedule.__variant"' in page

    missing = post_edit(client, action_id, {"schedule.__variant": "0", "schedule.timezone": "UTC"})
    assert missing.status_code == 422
    assert "Missing: fill this in." in missing.content.decode()
    assert "is not valid under any of the given schemas" not in missing.content.decode()

    chosen = post_edit(client, action_id, {"schedule.__variant": "0", "schedule.post_at": "2026-12-24T17:00:00Z"})
    assert chosen.status_code == 200 and "Deploy at 5" in chosen.content.decode()

    post_edit(client, action_id, {"schedule.__variant": "1"}, url="approve")
    assert Action.objects.get(pk=action_id).final_params["schedule"] is None  # null, not deleted


def test_an_email_that_is_not_one_is_refused(client, supervisor, api, email_type):
    params = {"to": ["ana@example.com"], "subject": "Hello", "body": "Hi Ana"}
    action_id = api.propose(action="email.send", params=params).json()["id"]
    client.force_login(supervisor)

    response = post_edit(client, action_id, {"to.__rows": "1", "to.0": "not-an-email"}, url="approve")

    assert response.status_code == 422
    assert "Not an email address, like name@example.com." in response.content.decode()
    assert Action.objects.get(pk=action_id).status == "pending"


def test_parameters_that_may_not_be_edited_stay_visible_in_edit_mode(client, supervisor, pending):
    client.force_login(supervisor)

    page = client.get(f"/actions/{pending.pk}/edit").content.decode()

    assert 'name="customer"' not in page
    assert "cus_123" in page.split('<form class="edit"')[1] and "(not editable)" in page


def test_enter_in_a_field_only_checks_the_edit(client, supervisor, pending):
    """Enter submits a form's first submit button: in the edit form that is a Check."""
    client.force_login(supervisor)

    form = client.get(f"/actions/{pending.pk}/edit").content.decode().split('<form class="edit"')[1]

    first_button = form[form.index("<button") :].split(">")[0]
    assert (
        'class="enter-default"' in first_button and "formaction" not in first_button and "hx-post" not in first_button
    )


def test_a_card_lists_every_item_of_a_list(client, supervisor, api, email_type):
    recipients = [f"person{n}@example.com" for n in range(6)]
    action_id = api.propose(action="email.send", params={"to": recipients, "subject": "S", "body": "B"}).json()["id"]
    client.force_login(supervisor)

    inbox = client.get("/").content.decode()
    card = inbox[inbox.index(f'id="action-{action_id}"') :]

    assert all(f"<li>{address}</li>" in card for address in recipients)
    assert "6 items" in card


def test_every_answer_lists_parameters_in_the_schemas_order(client, api, slack_type):
    params = {"unfurl_links": False, "text": "Hi", "channel": "C1"}

    answer = api.propose(action="slack.post_message", params=params)

    body = answer.content.decode()
    assert body.index('"channel"') < body.index('"text"') < body.index('"unfurl_links"')
    assert json.loads(body)["summary"].startswith("slack_post_message — Channel: C1; Text: Hi; Unfurl Links: no")


def rows_of(page, caption="Your changes"):
    """The diff table's row paths, top to bottom."""
    table = page[page.index(f'aria-label="{caption}"') :].split("</table>")[0]
    return [cell.split("</code>")[0] for cell in table.split('<code class="path">')[1:]]


def slack_message_edited(client, supervisor, api):
    """A Slack message with one block proposed, and its edit form with the channel, the block's
    text and its id changed: (action id, form)."""
    params = {
        "channel": "C1",
        "text": "Hi",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "old"}, "block_id": "b1"}],
    }
    action_id = api.propose(action="slack.post_message", params=params).json()["id"]
    client.force_login(supervisor)
    form = submitted(client.get(f"/actions/{action_id}/edit").content.decode())
    form.update({"blocks.0.text.text": "new", "blocks.0.block_id": "b2", "channel": "C2"})
    return action_id, form


def test_the_diff_lists_nested_changes_in_the_schemas_order(client, supervisor, api, slack_type):
    """The schema's SectionBlock declares text before block_id, and Schedule post_at before timezone."""
    action_id, form = slack_message_edited(client, supervisor, api)

    page = post_edit(client, action_id, form).content.decode()

    assert rows_of(page) == ["channel", "blocks[0].text.text", "blocks[0].block_id"]


def test_the_diff_lists_list_items_by_index_not_as_text(client, supervisor, api, edit_file_type):
    edits = [{"oldText": f"line {n}", "newText": f"line {n}!"} for n in range(11)]
    action_id = api.propose(action="fs.edit_file", params={"path": "/srv/a.py", "edits": edits}).json()["id"]
    client.force_login(supervisor)
    form = submitted(client.get(f"/actions/{action_id}/edit").content.decode())
    form.update({"edits.10.newText": "ten", "edits.2.newText": "two", "edits.2.oldText": "2"})

    page = post_edit(client, action_id, form).content.decode()

    assert rows_of(page) == ["edits[2].oldText", "edits[2].newText", "edits[10].newText"]


def test_the_decided_card_shows_the_changes_as_the_diff_table_does(client, supervisor, api, slack_type):
    action_id, form = slack_message_edited(client, supervisor, api)

    card = post_edit(client, action_id, form, url="approve", headers=HTMX).content.decode()

    assert "Approved by sue" in card
    assert rows_of(card, "The reviewer's changes") == ["channel", "blocks[0].text.text", "blocks[0].block_id"]
    assert '<th scope="row">Blocks › 1 › Block Id <code' in card
    assert "<del>old</del>" in card and "<ins>new</ins>" in card


def test_a_date_and_time_is_typed_as_text_with_its_time_zone(client, supervisor, api, slack_type):
    params = {"channel": "C1", "text": "Deploy", "schedule": {"post_at": "2026-12-24T17:00:00Z"}}
    action_id = api.propose(action="slack.post_message", params=params).json()["id"]
    client.force_login(supervisor)

    page = client.get(f"/actions/{action_id}/edit").content.decode()

    field = re.search(r'<input [^>]*name="schedule.post_at"[^>]*>', page).group()
    assert 'type="text"' in field and 'value="2026-12-24T17:00:00Z"' in field
    assert 'placeholder="2026-12-31T09:30:00Z"' in field
    assert "A date and time with its time zone (Z for UTC, or like +01:00)." in page


@pytest.mark.parametrize(
    "typed, message",
    [
        ("2026-12-24", "Add the time and its time zone, like 2026-12-31T09:30:00Z."),
        ("2026-12-24T17:00:00", "Add the time zone: Z for UTC, or an offset like +01:00"),
        ("2026-12-24T17:00Z", "Add the seconds, like 2026-12-31T09:30:00Z."),
        ("2026-12-24 17:00:00Z", "Put a T between the date and the time"),
        ("2026-02-30T17:00:00Z", "No such date or time"),
        ("next Friday", "Not a date and time, like 2026-12-31T09:30:00Z."),
    ],
)
def test_a_date_and_time_in_the_wrong_form_says_what_is_wrong(client, supervisor, api, slack_type, typed, message):
    params = {"channel": "C1", "text": "Deploy", "schedule": {"post_at": "2026-12-24T17:00:00Z"}}
    action_id = api.propose(action="slack.post_message", params=params).json()["id"]
    client.force_login(supervisor)

    response = post_edit(client, action_id, {"schedule.__variant": "0", "schedule.post_at": typed}, url="approve")

    assert response.status_code == 422
    page = response.content.decode()
    error = page[page.index('name="schedule.post_at"') :].split("</div>\n</div>")[0]
    assert message in error
    assert Action.objects.get(pk=action_id).status == "pending"
