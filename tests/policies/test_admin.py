"""The policy admin through the test client: rule validation, schema validation, preview,
audited saves with history, dry run, and the agent kill switch."""

import json

import pytest
from django.contrib.auth.models import Group
from django.utils.duration import duration_string
from guardian.shortcuts import get_groups_with_perms

from audit.models import Event
from policies.models import ActionType, Agent, Rule
from tests.policies.conftest import TAG, add_rule


def change_url(action_type):
    return f"/admin/policies/actiontype/{action_type.pk}/change/"


def form_data(action_type, rules=None, **changes):
    """What the change form posts for `action_type` as saved, with `changes` applied."""
    rules = list(action_type.rules.all()) if rules is None else rules
    data = {
        "key": action_type.key,
        "name": action_type.name,
        "description": action_type.description,
        "status": action_type.status,
        "autonomy": action_type.autonomy,
        "blast_radius": action_type.blast_radius,
        "confidence_threshold": action_type.confidence_threshold,
        "first_use_threshold": action_type.first_use_threshold,
        "rate_limit": action_type.rate_limit or "",
        "rate_window": duration_string(action_type.rate_window),
        "required_approvers": action_type.required_approvers,
        "pause": action_type.pause,
        "pause_reason": action_type.pause_reason,
        "params_schema": json.dumps(action_type.params_schema),
        "editable_params": json.dumps(action_type.editable_params),
        "redact_paths": json.dumps(action_type.redact_paths),
        "summary_template": action_type.summary_template,
        "preview_params": "",
        "sla": duration_string(action_type.sla),
        "sla_warning_share": action_type.sla_warning_share,
        "timeout_fallback": action_type.timeout_fallback,
        "sampling_rate": action_type.sampling_rate,
        "target_error_rate": action_type.target_error_rate,
        "earned_autonomy_decisions": action_type.earned_autonomy_decisions,
        "earned_autonomy_window": duration_string(action_type.earned_autonomy_window),
        "executor_url": action_type.executor_url,
        "checker_url": action_type.checker_url,
        "checker_secret": action_type.checker_secret,
        "checker_timeout": action_type.checker_timeout,
        "dry_run_limit": "1000",
        "standing_approvals-TOTAL_FORMS": "0",
        "standing_approvals-INITIAL_FORMS": "0",
        "escalation_tiers-TOTAL_FORMS": "0",
        "escalation_tiers-INITIAL_FORMS": "0",
    }
    for flag in ("irreversible", "allow_irreversible_unattended"):
        if getattr(action_type, flag):
            data[flag] = "on"
    data["rules-TOTAL_FORMS"] = str(len(rules))
    data["rules-INITIAL_FORMS"] = str(sum(1 for r in rules if isinstance(r, Rule)))
    for index, rule in enumerate(rules):
        if isinstance(rule, Rule):
            rule = {
                "id": rule.pk,
                "name": rule.name,
                "expression": rule.expression,
                "level": rule.level,
                "order": rule.order,
                "action_type": action_type.pk,
            }
        for name, value in {"action_type": action_type.pk, **rule}.items():
            data[f"rules-{index}-{name}"] = value
    data.update(changes)
    return data


@pytest.fixture
def admin_client(client, policy_admin):
    client.force_login(policy_admin)
    return client


def test_a_rule_that_does_not_compile_cannot_be_saved(admin_client, tag_type):
    data = form_data(
        tag_type, rules=[{"name": "broken", "expression": "params.amount >", "level": "confirm", "order": 0}]
    )

    response = admin_client.post(change_url(tag_type), data)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Not a rule CEL can read: the rule ends before it is complete (at column 16)." in page
    assert "mismatched input" not in page and "EOF" not in page  # the parser's own words stay out
    assert not Rule.objects.exists()
    assert not Event.objects.filter(kind="policy.changed").exists()


@pytest.mark.parametrize(
    ("expression", "told"),
    [
        ("parms.amount > 50", "“parms” is not something a rule can read (did you mean “params”?)"),
        ("params.amont > 50", "params has no parameter “amont” (did you mean “amount”?)"),
        ('agent.nam == "x"', "agent has no “nam” (did you mean “name”?)"),
    ],
)
def test_a_rule_naming_what_no_proposal_has_cannot_be_saved(admin_client, tag_type, expression, told):
    """Saved, such a rule fails on every proposal, and a failing rule sends everything to a person."""
    data = form_data(tag_type, rules=[{"name": "typo", "expression": expression, "level": "confirm", "order": 0}])

    response = admin_client.post(change_url(tag_type), data)

    assert response.status_code == 200
    assert told in response.content.decode()
    assert not Rule.objects.exists()
    assert not Event.objects.filter(kind="policy.changed").exists()


def test_a_rule_is_checked_against_the_schema_saved_with_it(admin_client, tag_type):
    schema = {**tag_type.params_schema, "properties": {**tag_type.params_schema["properties"], "priority": {}}}
    rules = [{"name": "urgent", "expression": 'params.priority == "high" && context.ticket != ""', "order": 0}]
    data = form_data(tag_type, rules=[{**rules[0], "level": "confirm"}], params_schema=json.dumps(schema))

    assert admin_client.post(change_url(tag_type), data).status_code == 302
    assert Rule.objects.get().expression.startswith("params.priority")


def test_a_schema_that_is_not_json_schema_cannot_be_saved(admin_client, tag_type):
    response = admin_client.post(change_url(tag_type), form_data(tag_type, params_schema='{"type": "strong"}'))

    assert response.status_code == 200
    assert "Not a valid JSON Schema" in response.content.decode()
    tag_type.refresh_from_db()
    assert tag_type.params_schema["type"] == "object"


def test_saving_writes_the_diff_bumps_the_version_and_shows_in_the_history(admin_client, policy_admin, tag_type):
    supervisors = Group.objects.get_or_create(name="supervisors")[0]
    data = form_data(
        tag_type,
        rules=[{"name": "billing", "expression": '"billing" in params.tags', "level": "confirm", "order": 0}],
        autonomy="audit",
        redact_paths='["params.ticket"]',
        reviewer_groups=[supervisors.pk],
    )

    response = admin_client.post(change_url(tag_type), data)

    assert response.status_code == 302
    tag_type.refresh_from_db()
    assert (tag_type.autonomy, tag_type.version, tag_type.last_changed_by) == ("audit", 2, policy_admin)
    assert tag_type.redact_paths == ["params.ticket"]
    assert "review_actiontype" in get_groups_with_perms(tag_type, attach_perms=True)[supervisors]
    event = Event.objects.get(kind="policy.changed")
    assert (event.actor_name, event.action_type) == ("pat", "tickets.tag")
    diff = event.data["diff"]
    assert diff["autonomy"] == {"from": "autonomous", "to": "audit"}
    assert diff["rules"]["to"][0]["name"] == "billing"
    assert diff["reviewer_groups"] == {"from": [], "to": ["supervisors"]}
    page = admin_client.get(change_url(tag_type)).content.decode()
    assert "History of changes" in page
    assert "autonomous → audit" in page


def test_the_history_diffs_rules_one_by_one_by_name(admin_client, tag_type):
    add_rule(tag_type, "big", "params.tags.size() > 3")
    data = form_data(tag_type)
    data["rules-0-expression"] = "params.tags.size() > 5"
    admin_client.post(change_url(tag_type), data)
    data = form_data(tag_type)
    data["rules-0-DELETE"] = "on"
    data["rules-TOTAL_FORMS"] = "2"
    data.update({"rules-1-name": "vip", "rules-1-expression": '"vip" in params.tags', "rules-1-level": "confirm"})
    data.update({"rules-1-order": "1", "rules-1-action_type": tag_type.pk})
    admin_client.post(change_url(tag_type), data)

    page = admin_client.get(change_url(tag_type)).content.decode()

    assert "<li>rule “big”: expression params.tags.size() &gt; 3 → params.tags.size() &gt; 5</li>" in page
    assert "<li>rule “vip” added: expression &quot;vip&quot; in params.tags, level confirm, order 1</li>" in page
    assert "<li>rule “big” removed</li>" in page
    assert "{&#x27;name&#x27;" not in page and "[{" not in page


def test_saving_without_changes_writes_no_event(admin_client, tag_type):
    admin_client.post(change_url(tag_type), form_data(tag_type))

    assert not Event.objects.filter(kind="policy.changed").exists()
    tag_type.refresh_from_db()
    assert tag_type.version == 1


def test_the_checker_secret_never_appears_in_the_diff(admin_client, tag_type):
    admin_client.post(
        change_url(tag_type),
        form_data(tag_type, checker_url="https://checker.example.com/", checker_secret="s3cret"),
    )

    event = Event.objects.get(kind="policy.changed")
    assert "s3cret" not in json.dumps(event.data)
    assert event.data["diff"]["checker_secret"] == {"from": "(hidden)", "to": "(changed)"}


def test_the_preview_renders_the_edited_summary_without_saving(admin_client, tag_type):
    data = form_data(
        tag_type,
        summary_template="Tag {{ ticket }} with {{ tags|listing:'tag' }}",
        preview_params=json.dumps({"ticket": "T-9", "tags": ["vip", "refund"]}),
        _preview="Preview summary",
    )

    response = admin_client.post(change_url(tag_type), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "The reviewer would read: <strong>Tag T-9 with" in page
    assert "Not saved" in page
    tag_type.refresh_from_db()
    assert tag_type.summary_template == "Tag ticket {{ ticket }}"
    assert not Event.objects.filter(kind="policy.changed").exists()


def test_a_preview_or_a_dry_run_is_not_called_an_error(admin_client, api, tag_type):
    api.propose("tickets.tag", TAG)
    for trial in ({"_preview": "Preview summary"}, {"_dryrun": "Dry run"}):
        page = admin_client.post(change_url(tag_type), form_data(tag_type, **trial)).content.decode()

        assert "Please correct the error" not in page and "errornote" not in page
        assert "Not saved: this was a preview or a dry run" in page

    # A real mistake still says so, and nothing is previewed.
    page = admin_client.post(
        change_url(tag_type), form_data(tag_type, params_schema='{"type": "strong"}', _preview="Preview summary")
    ).content.decode()
    assert "Please correct the error below." in page and "Not a valid JSON Schema" in page
    assert "The reviewer would read" not in page


def test_a_preview_without_a_parameter_the_summary_needs_names_it(admin_client, tag_type):
    data = form_data(tag_type, summary_template="Charge {{ amount|money:currency }}", _preview="Preview summary")

    page = admin_client.post(change_url(tag_type), data).content.decode()

    assert "the summary needs the parameter “currency”, which is missing" in page
    assert "Failed lookup" not in page


def test_the_preview_lists_schema_errors_of_the_sample(admin_client, tag_type):
    data = form_data(tag_type, preview_params=json.dumps({"ticket": 5}), _preview="Preview summary")

    page = admin_client.post(change_url(tag_type), data).content.decode()

    assert "These sample parameters fail the schema" in page
    assert "5 is not of type" in page


def test_the_dry_run_compares_levels_before_and_after_without_saving(admin_client, api, tag_type):
    for amount in (10, 20, 600, 900):
        api.propose("tickets.tag", {**TAG, "amount": amount})
    data = form_data(
        tag_type,
        rules=[
            {"name": "large", "expression": "has(params.amount) && params.amount > 500", "level": "confirm", "order": 0}
        ],
        _dryrun="Dry run",
    )

    response = admin_client.post(change_url(tag_type), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Dry run over the last 4 proposals" in page
    assert "this change would route 2 differently" in page
    assert "<tr><td>confirm</td><td>0</td><td>2</td></tr>" in page
    assert "<tr><td>autonomous</td><td>4</td><td>2</td></tr>" in page
    assert "rule &#x27;large&#x27; matched" in page
    assert not Rule.objects.exists()


def test_the_dry_run_respects_its_limit(admin_client, api, tag_type):
    for _ in range(3):
        api.propose("tickets.tag", TAG)

    page = admin_client.post(
        change_url(tag_type), form_data(tag_type, autonomy="confirm", dry_run_limit="2", _dryrun="Dry run")
    ).content.decode()

    assert "Dry run over the last 2 proposals" in page


def test_an_edited_rule_is_audited_and_deleting_one_too(admin_client, tag_type):
    rule = add_rule(tag_type, "big", "params.tags.size() > 3")
    data = form_data(tag_type)
    data["rules-0-expression"] = "params.tags.size() > 5"
    admin_client.post(change_url(tag_type), data)
    data = form_data(tag_type)
    data["rules-0-DELETE"] = "on"
    admin_client.post(change_url(tag_type), data)

    diffs = [e.data["diff"]["rules"] for e in Event.objects.filter(kind="policy.changed").order_by("seq")]
    assert diffs[0]["to"][0]["expression"] == "params.tags.size() > 5"
    assert diffs[1]["to"] == []
    assert not Rule.objects.filter(pk=rule.pk).exists()
    tag_type.refresh_from_db()
    assert tag_type.version == 3


def test_pausing_an_agent_is_audited(admin_client, agent):
    response = admin_client.post(
        f"/admin/policies/agent/{agent.pk}/change/",
        {
            "name": agent.name,
            "description": "",
            "pause": "hold",
            "pause_reason": "investigating",
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    assert Agent.objects.get(pk=agent.pk).pause == "hold"
    event = Event.objects.get(kind="policy.changed")
    assert event.agent == "billing-agent"
    assert event.data["diff"]["pause"] == {"from": "", "to": "hold"}


def test_a_pause_needs_a_reason(admin_client, tag_type):
    response = admin_client.post(change_url(tag_type), form_data(tag_type, pause="block"))

    assert "Say why" in response.content.decode()
    assert ActionType.objects.get(pk=tag_type.pk).pause == ""


def test_an_outsider_cannot_open_the_policy_admin(client, outsider, tag_type):
    client.force_login(outsider)

    response = client.get(change_url(tag_type))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_standing_approvals_are_listed_and_revoked_from_the_admin(admin_client, agent, tag_type, policy_admin):
    from datetime import timedelta

    from django.utils import timezone

    from policies.models import StandingApproval

    standing = StandingApproval.objects.create(
        action_type=tag_type,
        agent=agent,
        constraints={"amount": {"max": 100}},
        expires_at=timezone.now() + timedelta(hours=1),
    )

    listing = admin_client.get("/admin/policies/standingapproval/").content.decode()
    response = admin_client.post(
        "/admin/policies/standingapproval/", {"action": "revoke", "_selected_action": [standing.pk]}
    )

    assert "amount ≤ 100" in listing
    assert response.status_code == 302
    standing.refresh_from_db()
    assert standing.revoked_at is not None
    event = Event.objects.get(kind="policy.changed")
    assert (event.actor_name, event.data["what"]) == ("pat", "standing approval revoked")
    assert (
        f"allow similar tickets.tag for billing-agent #{standing.pk}"
        in admin_client.get(change_url(tag_type)).content.decode()
    )


def test_every_policy_field_is_on_the_change_form(admin_client, tag_type):
    page = admin_client.get(change_url(tag_type)).content.decode()

    for name in [
        "autonomy",
        "irreversible",
        "allow_irreversible_unattended",
        "blast_radius",
        "confidence_threshold",
        "first_use_threshold",
        "rate_limit",
        "rate_window",
        "required_approvers",
        "editable_params",
        "redact_paths",
        "sla",
        "sampling_rate",
        "earned_autonomy_decisions",
        "earned_autonomy_window",
        "reviewer_groups",
        "checker_url",
        "checker_secret",
        "checker_timeout",
        "pause",
        "pause_reason",
        "params_schema",
        "summary_template",
        "rules-0-expression",
    ]:
        assert f'name="{name}"' in page, name


def test_a_new_type_can_be_previewed_before_it_exists(admin_client, db):
    blank = ActionType(key="files.delete", name="Delete files", first_use_threshold=5)
    data = form_data(
        blank,
        rules=[],
        summary_template="Delete {{ path }}",
        preview_params='{"path": "/tmp/x"}',
        _preview="Preview summary",
    )

    response = admin_client.post("/admin/policies/actiontype/add/", data)

    assert "The reviewer would read: <strong>Delete /tmp/x</strong>" in response.content.decode()
    assert not ActionType.objects.filter(key="files.delete").exists()


def test_deleting_an_action_type_is_audited_with_its_last_policy(client, superuser, tag_type):
    client.force_login(superuser)  # the policy_admins role edits action types but does not delete them
    response = client.post(f"/admin/policies/actiontype/{tag_type.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not ActionType.objects.filter(pk=tag_type.pk).exists()
    event = Event.objects.get(kind="policy.changed")
    assert event.data["what"] == "action type deleted"
    assert event.data["policy"]["autonomy"] == "autonomous"


def test_deleting_action_types_in_bulk_is_audited_one_by_one(client, superuser, tag_type, refund_type):
    client.force_login(superuser)
    response = client.post(
        "/admin/policies/actiontype/",
        {"action": "delete_selected", "_selected_action": [tag_type.pk, refund_type.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not ActionType.objects.exists()
    assert sorted(Event.objects.filter(kind="policy.changed").values_list("action_type", flat=True)) == [
        "payments.refund",
        "tickets.tag",
    ]


def test_a_draft_type_is_deleted_in_the_admin_unless_its_actions_keep_it(client, superuser, api):
    # How junk drafts go: one nobody acted on is deleted like any type; the actions of one that was
    # used are history and keep it (rename it, or block it with a pause, instead).
    api.propose("junk.used", {"x": 1})
    used = ActionType.objects.get(key="junk.used")
    unused = ActionType.objects.create(key="junk.unused", name="junk.unused", status="draft")
    client.force_login(superuser)

    deleted = client.post(f"/admin/policies/actiontype/{unused.pk}/delete/", {"post": "yes"})
    kept = client.post(f"/admin/policies/actiontype/{used.pk}/delete/", {"post": "yes"})

    assert deleted.status_code == 302
    assert not ActionType.objects.filter(key="junk.unused").exists()
    assert Event.objects.get(kind="policy.changed", action_type="junk.unused").data["what"] == "action type deleted"
    assert "Cannot delete action type" in kept.content.decode()
    assert ActionType.objects.filter(key="junk.used").exists()


def test_the_dry_run_of_a_loosened_field_shows_the_saved_policy_unchanged(admin_client, api, tag_type):
    # The edited fields once leaked into the "saved" column, so a loosening read "0 differently".
    tag_type.autonomy = "confirm"
    tag_type.save()
    for _ in range(3):
        api.propose("tickets.tag", TAG)

    page = admin_client.post(
        change_url(tag_type), form_data(tag_type, autonomy="audit", _dryrun="Dry run")
    ).content.decode()

    assert "this change would route 3 differently" in page
    assert "<tr><td>confirm</td><td>3</td><td>0</td></tr>" in page
    assert "<tr><td>audit</td><td>0</td><td>3</td></tr>" in page
    assert ActionType.objects.get(pk=tag_type.pk).autonomy == "confirm"
