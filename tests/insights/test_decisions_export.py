"""Decisions as evaluation data (#36): one JSON Lines record per decided action, against the
documented schema, redacted as the audit log is, filtered by type, time and decision; and an
external checker evaluated against people's decisions, in a confusion table per type."""

import hashlib
import hmac
import io
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from jsonschema import Draft202012Validator

from approvals.escalation import sweep
from approvals.models import Action
from audit.models import Event
from insights.evaluation import decided_actions, evaluate_checker
from policies.models import ActionType
from sampling.models import Sample
from tests.policies.test_external_checker import respond

pytestmark = pytest.mark.django_db

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "decision-record.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
CARD = "4242 4242 4242 4242"
SECRET = "checker-secret"


@pytest.fixture
def charges(db, supervisor):
    """Charges whose card number the policy redacts; a person may edit the amount and the note."""
    from guardian.shortcuts import assign_perm

    charge_type = ActionType.objects.create(
        key="payments.charge",
        name="Charge a card",
        params_schema={
            "type": "object",
            "properties": {
                "card_number": {"type": "string"},
                "amount": {"type": "number"},
                "currency": {"type": "string"},
                "note": {"type": "string"},
            },
        },
        summary_template="Charge {{ amount|money:currency }}",
        autonomy="confirm",
        editable_params=["amount", "note"],
        redact_paths=["params.card_number"],
        first_use_threshold=0,
    )
    assign_perm("policies.review_actiontype", supervisor.groups.get(), charge_type)
    return charge_type


def charge(api, amount, **fields):
    params = {"card_number": CARD, "amount": amount, "currency": "USD", "note": "order 981"}
    body = api.propose(action="payments.charge", params=params, **fields).json()
    return Action.objects.select_related("action_type").get(pk=body["id"])


@pytest.fixture
def decided(api, charges, refund_type, supervisor, sample_reviewer):
    """Each kind of decided action, plus one still pending and one auto-approved but never graded."""
    approved = charge(api, 100, context={"ticket": "T-1", "api_key": "sk_live_abcdefghijklmnop1234"})
    edited = charge(api, 900, rationale="The customer asked for it")
    rejected = charge(api, 800)
    timed_out = charge(api, 50)
    charge(api, 60)  # pending: no decision, no record
    approved.approve(by=supervisor, reason="Looks right")
    edited.approve(by=supervisor, params={**edited.params, "amount": 500, "note": "half now"})
    rejected.reject(by=supervisor, reason="Token ghp_abcdefghijklmnopqrstuvwxyz0123456789 was pasted in")
    api.post(f"/actions/{approved.pk}/result", {"status": "succeeded", "output": {"charge": "ch_1"}})
    Action.objects.filter(pk=timed_out.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    Action.objects.exclude(pk=timed_out.pk).filter(status="pending").update(due_at=timezone.now() + timedelta(hours=1))
    sweep()
    ActionType.objects.filter(pk=refund_type.pk).update(autonomy="audit")
    auto = Action.objects.get(pk=api.propose().json()["id"])
    api.propose(params={"customer": "cus_9", "amount": 5, "currency": "USD"})  # approved, never graded
    Sample.objects.create(action=auto, action_type=refund_type).grade_as(
        by=sample_reviewer, grade="incorrect", note="Wrong customer"
    )
    return {"approved": approved, "edited": edited, "rejected": rejected, "timed_out": timed_out, "auto": auto}


def export(client, **params):
    response = client.get("/insights/decisions.jsonl", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/x-ndjson"
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]


def test_every_decided_action_is_one_record_that_fits_the_documented_schema(decided, client, auditor):
    client.force_login(auditor)

    records = export(client)

    order = ("approved", "edited", "rejected", "timed_out", "auto")
    assert [r["id"] for r in records] == [str(decided[name].pk) for name in order]
    for record in records:
        assert list(VALIDATOR.iter_errors(record)) == []
    by_id = {r["id"]: r for r in records}
    edited = by_id[str(decided["edited"].pk)]
    assert edited["decision"] | {"at": None} == {
        "verdict": "edited",
        "decided_by": "person",
        "by": "sue",
        "at": None,
        "seconds_to_decide": None,
    }
    assert edited["edits"] == {"amount": {"from": 900, "to": 500}, "note": {"from": "order 981", "to": "half now"}}
    assert edited["proposal"]["summary"] == "Charge $900.00"
    assert edited["proposal"]["rationale"] == "The customer asked for it"
    assert edited["route"]["level"] == "confirm" and edited["route"]["reasons"]
    approved = by_id[str(decided["approved"].pk)]
    assert approved["reason"] == "Looks right"
    assert approved["outcome"] == {"status": "succeeded", "output": {"charge": "ch_1"}, "error": ""}
    assert by_id[str(decided["timed_out"].pk)]["decision"]["decided_by"] == "timeout"
    auto = by_id[str(decided["auto"].pk)]
    assert auto["decision"]["decided_by"] == "policy"
    assert auto["sample"] == {"grade": "incorrect", "note": "Wrong customer", "by": "sandy"}


def test_records_are_redacted_as_the_audit_log_is(decided, client, auditor):
    client.force_login(auditor)

    text = json.dumps(export(client))

    assert CARD not in text and "4242" not in text
    assert "sk_live_abcdefghijklmnop1234" not in text and "ghp_abcdefghij" not in text
    record = next(r for r in export(client) if r["id"] == str(decided["approved"].pk))
    assert record["proposal"]["params"]["card_number"] == "[redacted: params.card_number]"
    assert record["final_params"]["card_number"] == "[redacted: params.card_number]"
    assert record["context"]["api_key"].startswith("[redacted")
    # The audit log's own copy of the proposal is redacted the same way.
    proposed = Event.objects.get(kind="action.proposed", action_id=decided["approved"].pk)
    assert proposed.data["proposal"]["params"]["card_number"] == record["proposal"]["params"]["card_number"]


def test_the_export_filters_by_type_time_and_decision(decided, client, auditor):
    client.force_login(auditor)

    assert [r["id"] for r in export(client, decision="rejected", decided_by="person")] == [str(decided["rejected"].pk)]
    assert len(export(client, decision="rejected")) == 2  # the timeout's fallback rejects too
    assert [r["id"] for r in export(client, decision="edited")] == [str(decided["edited"].pk)]
    assert len(export(client, action_type="payments.charge")) == 4
    assert [r["decision"]["decided_by"] for r in export(client, decided_by="policy")] == ["policy"]
    assert len(export(client, decided_by="person")) == 3
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert export(client, since=later) == []
    assert len(export(client, until=later)) == 5


def test_a_bad_filter_is_refused_with_the_reason(decided, client, auditor):
    client.force_login(auditor)

    response = client.get("/insights/decisions.jsonl", {"decision": "maybe", "action_type": "no.such"})

    assert response.status_code == 400
    assert "decision:" in response.content.decode() and "action_type:" in response.content.decode()


def test_only_auditors_export_and_each_export_is_audited(decided, client, auditor, supervisor):
    client.force_login(supervisor)
    assert client.get("/insights/decisions.jsonl").status_code == 403

    client.force_login(auditor)
    export(client, decision="rejected")

    exported = Event.objects.filter(kind="audit.exported").get()
    assert exported.actor_name == "audrey" and exported.data["decisions"] == {"decision": "rejected"}


def test_the_command_writes_the_same_records(decided, tmp_path):
    out = tmp_path / "decisions.jsonl"

    call_command("export_decisions", "--type", "payments.charge", "--decision", "approved", "-o", str(out))

    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["id"] == str(decided["approved"].pk)


# The checker's evaluation.


class Checker(BaseHTTPRequestHandler):
    """Fails charges over 500 and refunds to cus_123; checks the signature as a real one would."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        mac = hmac.new(SECRET.encode(), self.headers["X-Countersign-Timestamp"].encode() + b"." + body, hashlib.sha256)
        proposal = json.loads(body)
        if not hmac.compare_digest(self.headers["X-Countersign-Signature"], f"sha256={mac.hexdigest()}"):
            verdict = {"verdict": "fail", "reason": "bad signature"}
        elif proposal["params"].get("amount", 0) > 500 or proposal["params"].get("customer") == "cus_123":
            verdict = {"verdict": "fail", "reason": "too much"}
        else:
            verdict = {"verdict": "pass"}
        respond(self, json.dumps(verdict).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def checker_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Checker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/check"
    server.shutdown()
    server.server_close()


def test_a_checker_is_evaluated_against_peoples_decisions_per_type(decided, checker_url):
    tables = evaluate_checker(decided_actions(), url=checker_url, secret=SECRET)

    charges = tables["payments.charge"]
    # approved 100: pass/pass; edited 900: fail/fail; rejected 800: fail/fail; the timeout is no label.
    assert charges.as_json() == {
        "total": 3,
        "agreement": 1.0,
        "people_pass_checker_pass": 1,
        "people_pass_checker_fail": 0,
        "people_fail_checker_pass": 0,
        "people_fail_checker_fail": 2,
    }
    # The refund graded incorrect: the checker fails cus_123 too.
    assert tables["payments.refund"].cells == {("fail", "fail"): 1}


def test_the_command_prints_the_confusion_table_and_counts_a_wrong_secret_as_disagreement(decided, checker_url):
    out = io.StringIO()
    call_command("evaluate_checker", checker_url, "--secret", "wrong", "--type", "payments.charge", stdout=out)

    text = out.getvalue()
    assert "payments.charge: 2 of 3 agree with people (66.7%)" in text
    assert f"disagrees on {decided['approved'].pk}: people pass, checker fail bad signature" in text


def test_an_unreachable_checker_fails_every_decision(decided):
    tables = evaluate_checker(decided_actions(action_type="payments.charge"), url="http://127.0.0.1:9/", secret=SECRET)

    assert tables["payments.charge"].cells == {("pass", "fail"): 1, ("fail", "fail"): 2}


def test_a_policy_admin_evaluates_a_checker_from_the_page_and_it_is_audited(decided, checker_url, client, policy_admin):
    client.force_login(policy_admin)
    assert (
        "evaluate it against people"
        in client.get(f"/admin/policies/actiontype/{decided['approved'].action_type_id}/change/").content.decode()
    )

    page = client.post(
        "/insights/checker/",
        {"url": checker_url, "secret": SECRET, "timeout": 2, "action_type": "payments.charge", "limit": 50},
    ).content.decode()

    assert "3 of 3 agree with people (100.0%)" in page
    evaluated = Event.objects.get(kind="checker.evaluated")
    assert evaluated.actor_name == "pat" and evaluated.data["tables"]["payments.charge"]["total"] == 3


def test_only_a_policy_admin_evaluates_a_checker_and_a_bad_url_is_refused(decided, client, supervisor, policy_admin):
    client.force_login(supervisor)
    assert client.post("/insights/checker/", {"url": "http://127.0.0.1:9/", "secret": "s"}).status_code == 403

    client.force_login(policy_admin)
    response = client.post("/insights/checker/", {"url": "not a url", "secret": "s", "timeout": 2, "limit": 5})

    assert response.status_code == 400
    assert not Event.objects.filter(kind="checker.evaluated").exists()
