"""`manage.py policies export` and `policies import FILE [--dry-run]`."""

import io

import pytest
import yaml
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from audit.models import Event
from policies.models import ActionType, Rule
from tests.policies.conftest import add_rule


def export():
    out = io.StringIO()
    call_command("policies", "export", stdout=out)
    return out.getvalue()


def import_(tmp_path, text, *flags):
    path = tmp_path / "policies.yaml"
    path.write_text(text)
    out = io.StringIO()
    call_command("policies", "import", str(path), *flags, stdout=out)
    return out.getvalue()


@pytest.fixture
def policies(refund_type, tag_type, agent):
    add_rule(refund_type, "large refund", "params.amount > 500")
    add_rule(refund_type, "euro", 'params.currency == "EUR"', level="suggest", order=1)
    return refund_type


def test_the_export_is_one_yaml_document_of_every_policy(policies):
    document = yaml.safe_load(export())

    assert document["version"] == 1
    assert list(document["action_types"]) == ["payments.refund", "tickets.tag"]
    refund = document["action_types"]["payments.refund"]
    assert refund["autonomy"] == "confirm"
    assert refund["sla"] == "00:30:00"
    assert refund["rules"][0] == {
        "name": "large refund",
        "expression": "params.amount > 500",
        "level": "confirm",
        "order": 0,
    }
    assert document["agents"] == {"billing-agent": {"pause": "", "pause_reason": ""}}
    assert "checker_secret" not in refund


def test_export_import_export_is_identical_and_changes_nothing(tmp_path, policies):
    first = export()

    output = import_(tmp_path, first)

    assert output.strip() == "No changes: the policies already match the document."
    assert export() == first
    assert not Event.objects.filter(kind="policy.changed").exists()


def test_an_import_applies_and_audits_each_change_once(tmp_path, policies):
    document = yaml.safe_load(export())
    refund = document["action_types"]["payments.refund"]
    refund["autonomy"] = "suggest"
    refund["rules"] = [{"name": "huge refund", "expression": "params.amount > 5000", "level": "suggest", "order": 0}]
    document["agents"]["billing-agent"] = {"pause": "hold", "pause_reason": "audit week"}
    text = yaml.safe_dump(document, sort_keys=False)

    output = import_(tmp_path, text)
    again = import_(tmp_path, text)

    policies.refresh_from_db()
    assert policies.autonomy == "suggest"
    assert [r.name for r in Rule.objects.filter(action_type=policies)] == ["huge refund"]
    assert policies.version == 2
    assert "Changed action type payments.refund:" in output
    assert "autonomy: 'confirm' → 'suggest'" in output
    assert "Changed agent billing-agent:" in output
    assert again.strip().startswith("No changes")
    events = Event.objects.filter(kind="policy.changed")
    assert events.count() == 2
    type_event = events.get(action_type="payments.refund")
    assert (type_event.actor_kind, type_event.actor_name) == ("system", "policies import")
    assert set(type_event.data["diff"]) == {"autonomy", "rules"}


def test_a_dry_run_prints_the_changes_and_applies_nothing(tmp_path, policies):
    document = yaml.safe_load(export())
    document["action_types"]["tickets.tag"]["blast_radius"] = "high"

    output = import_(tmp_path, yaml.safe_dump(document), "--dry-run")

    assert "Would change action type tickets.tag:" in output
    assert "blast_radius: 'low' → 'high'" in output
    assert ActionType.objects.get(key="tickets.tag").blast_radius == "low"
    assert not Event.objects.filter(kind="policy.changed").exists()


def test_an_import_can_create_a_type_with_reviewer_groups(tmp_path, db):
    Group.objects.get_or_create(name="supervisors")
    text = """
version: 1
action_types:
  files.delete:
    name: Delete files
    autonomy: confirm
    irreversible: true
    sla: "01:00:00"
    reviewer_groups: [supervisors]
    rules:
      - {name: system paths, expression: 'params.path.startsWith("/etc")', level: suggest}
"""
    import_(tmp_path, text)

    created = ActionType.objects.get(key="files.delete")
    assert created.irreversible and created.sla.total_seconds() == 3600
    assert [g.name for g in created.reviewer_groups()] == ["supervisors"]
    assert created.rules.get().level == "suggest"


def test_an_invalid_document_lists_every_error_with_its_path_and_applies_nothing(tmp_path, policies):
    document = yaml.safe_load(export())
    document["action_types"]["tickets.tag"]["autonomy"] = "yolo"
    document["action_types"]["tickets.tag"]["colour"] = "blue"
    document["action_types"]["payments.refund"]["rules"][1]["expression"] = "params.amount >"
    document["action_types"]["payments.refund"]["params_schema"] = {"type": "strong"}
    document["action_types"]["payments.refund"]["reviewer_groups"] = ["nobody"]
    document["action_types"]["payments.refund"]["sampling_rate"] = 0.9
    document["agents"]["ghost"] = {"pause": "block", "pause_reason": "x"}

    with pytest.raises(CommandError) as raised:
        import_(tmp_path, yaml.safe_dump(document))

    message = str(raised.value)
    assert "Nothing was applied: 6 errors." in message
    assert "action_types.tickets.tag.autonomy: Value 'yolo' is not a valid choice." in message
    assert "action_types.tickets.tag.colour: unknown field" in message
    assert (
        "action_types.payments.refund.rules[1].expression: "
        "Not a rule CEL can read: the rule ends before it is complete (at column 16)."
    ) in message
    assert "action_types.payments.refund.params_schema: Not a valid JSON Schema" in message
    assert "action_types.payments.refund.reviewer_groups: no group is called 'nobody'" in message
    assert "agents.ghost: no agent is called 'ghost'" in message
    assert ActionType.objects.get(key="payments.refund").sampling_rate == 0.1
    assert not Event.objects.filter(kind="policy.changed").exists()


def test_a_file_that_is_not_yaml_is_refused(tmp_path, db):
    with pytest.raises(CommandError, match="not YAML"):
        import_(tmp_path, "action_types: [unclosed")


def test_the_checker_secret_comes_from_the_environment(tmp_path, tag_type, monkeypatch):
    monkeypatch.setenv("TAG_CHECKER_SECRET", "from-env")
    text = """
version: 1
action_types:
  tickets.tag:
    checker_url: https://checker.example.com/verify
    checker_secret_env: TAG_CHECKER_SECRET
"""
    import_(tmp_path, text)

    tag_type.refresh_from_db()
    assert (tag_type.checker_url, tag_type.checker_secret) == ("https://checker.example.com/verify", "from-env")
    assert "from-env" not in export()


def test_a_rule_naming_an_unknown_parameter_is_refused_with_its_path_and_nothing_is_applied(tmp_path, refund_type):
    document = yaml.safe_load(export())
    document["action_types"]["payments.refund"]["rules"] = [
        {"name": "large", "expression": "params.ammount > 50", "level": "confirm"}
    ]

    with pytest.raises(CommandError) as raised:
        import_(tmp_path, yaml.safe_dump(document))

    assert (
        "action_types.payments.refund.rules[0].expression: params has no parameter “ammount” (did you mean “amount”?)"
        in str(raised.value)
    )
    assert not refund_type.rules.exists()
