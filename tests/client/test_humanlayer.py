"""Code written for the `humanlayer` SDK works unchanged with its API base pointed at Countersign."""

import httpx
import pytest
from humanlayer import HumanLayer
from humanlayer.core.models import FunctionCall, FunctionCallSpec, FunctionCallStatus
from humanlayer.core.protocol import HumanLayerException

from approvals.models import Action
from audit.models import Event
from hitl_client.humanlayer import report_outcomes
from tests.client.outages import audited_outcome, outcome
from tests.conftest import pending_action

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outbox():
    return []


@pytest.fixture
def send_email_type(email_type):
    """The SDK names a call by its function, so the action type is keyed by the function's name."""
    email_type.pk, email_type.key = None, "send_email"
    email_type.save()
    return email_type


@pytest.fixture
def send_email(hl, send_email_type, outbox):
    @hl.require_approval()
    def send_email(to: list, subject: str, body: str) -> str:
        outbox.append(subject)
        return "sent"

    return send_email


def email(send_email):
    return send_email(to=["ann@example.com"], subject="Your invoice", body="Attached.")


def test_require_approval_runs_the_function_once_a_person_approves(send_email, supervisor, outbox, in_background):
    sending = in_background(email, send_email)

    action = pending_action()
    assert action.action_type.key == "send_email"
    assert action.params == {"to": ["ann@example.com"], "subject": "Your invoice", "body": "Attached."}
    assert action.session_id == "billing-run-7"
    action.approve(by=supervisor)

    assert sending.result(timeout=20) == "sent"
    assert outbox == ["Your invoice"]


def test_a_rejection_reaches_the_model_as_humanlayers_denial(send_email, supervisor, outbox, in_background):
    sending = in_background(email, send_email)

    pending_action().reject(by=supervisor, reason="Ann already has it")

    assert sending.result(timeout=20) == "User denied send_email with message: Ann already has it"
    assert outbox == []


def test_an_edited_approval_is_not_run_with_the_old_arguments(send_email, supervisor, outbox, in_background):
    sending = in_background(email, send_email)

    action = pending_action()
    action.approve(by=supervisor, params={**action.params, "subject": "Your March invoice"})

    answer = sending.result(timeout=20)
    assert outbox == []
    assert "only with changes" in answer and "Your March invoice" in answer


def test_the_call_repeated_with_the_edited_arguments_runs_once_without_a_second_review(
    send_email, supervisor, outbox, in_background
):
    sending = in_background(email, send_email)
    action = pending_action()
    edited = {**action.params, "subject": "Your March invoice"}
    action.approve(by=supervisor, params=edited)
    assert "only with changes" in sending.result(timeout=20)

    assert send_email(**edited) == "sent"  # the model's repeated call: no card, no wait
    assert outbox == ["Your March invoice"]
    repeated = Action.objects.exclude(pk=action.pk).get()
    assert repeated.status == "approved" and repeated.route["standing_approval"]
    made = Event.objects.get(kind="policy.changed", data__what="standing approval created")
    assert made.actor_id == str(supervisor.pk) and made.data["max_uses"] == 1
    assert made.data["constraints"]["subject"] == {"equals": "Your March invoice"}

    # Used up: the same call again, or any other, waits for a person as before.
    again = in_background(send_email, **edited)
    pending_action().reject(by=supervisor, reason="Once is enough")
    assert again.result(timeout=20) == "User denied send_email with message: Once is enough"


def test_the_agent_can_withdraw_its_call_but_never_approve_it(hl, email_type):
    spec = FunctionCallSpec(fn="email.send", kwargs={"to": ["a@b.c"], "subject": "s", "body": ""})
    call = hl.create_function_call(spec)
    assert call.status.approved is None

    with pytest.raises(HumanLayerException):
        hl.respond_to_function_call(call.call_id, FunctionCallStatus(approved=True, comment="lgtm"))
    assert Action.objects.get().status == "pending"

    withdrawn = hl.respond_to_function_call(call.call_id, FunctionCallStatus(approved=False, comment="never mind"))
    assert withdrawn.status.approved is False
    assert Action.objects.get().status == "cancelled"


def test_an_auto_approved_call_is_approved_at_once(hl, tagging_type):
    call = hl.create_function_call(FunctionCallSpec(fn="tickets.tag", kwargs={"ticket": "T-1"}))

    assert call.status.approved is True
    assert hl.get_function_call(call.call_id).status.approved is True


def reported_mailer(hl, countersign, outbox, *, fails=False):
    reported = report_outcomes(hl, countersign)

    @hl.require_approval()
    @reported
    def send_email(to: list, subject: str, body: str) -> dict:
        if fails:
            raise RuntimeError("the mail server is down")
        outbox.append(subject)
        return {"message_id": "msg-1"}

    return send_email


def test_report_outcomes_ends_an_approved_call_executed_with_its_output(
    hl, countersign, send_email_type, supervisor, outbox, in_background
):
    sending = in_background(email, reported_mailer(hl, countersign, outbox))

    pending_action().approve(by=supervisor)

    assert sending.result(timeout=20) == {"message_id": "msg-1"}
    [executed] = outcome()
    assert audited_outcome(executed)["output"] == {"message_id": "msg-1"}


def test_report_outcomes_ends_a_failing_call_failed(hl, countersign, send_email_type, supervisor, in_background):
    sending = in_background(email, reported_mailer(hl, countersign, [], fails=True))

    pending_action().approve(by=supervisor)

    assert "the mail server is down" in sending.result(timeout=20)  # the SDK's own text for any exception
    [failed] = outcome()
    assert audited_outcome(failed)["error"] == "RuntimeError: the mail server is down"


@pytest.mark.parametrize("kind", ["down", "hung", "unauthorized", "refused_params"])
def test_the_sdk_fails_closed_when_countersign_cannot_decide(
    kind, request, live_server, token, countersign, send_email_type, outbox
):
    # The SDK has no wait timeout of its own (it polls until someone decides; the SLA's fallback
    # ends it), and its wrapper turns any exception into a denial text: those rows of the matrix are
    # the SDK's, not ours to test.
    base, key, to = live_server.url, token, ["ann@example.com"]
    if kind == "down":
        base = f"http://127.0.0.1:{request.getfixturevalue('closed_port')}"
    elif kind == "hung":
        base = f"http://127.0.0.1:{request.getfixturevalue('hung_port')}"
    elif kind == "unauthorized":
        key = "cs_not_a_token"
    else:
        to = []  # the schema wants at least one recipient: 422
    hl = HumanLayer(api_key=key, api_base_url=base + "/api/v1/humanlayer", run_id="billing-run-7")
    hl.backend.connection.http_timeout_seconds = 1

    said = reported_mailer(hl, countersign, outbox)(to=to, subject="Your invoice", body="Attached.")

    assert said.startswith("Error fetching approval for send_email: ")
    assert outbox == []
    assert not Action.objects.exists()


def test_an_outcome_for_an_unknown_or_undecided_call_is_refused(live_server, token, send_email_type, hl):
    base = live_server.url + "/api/v1/humanlayer/agent/function_calls"
    headers = {"Authorization": f"Bearer {token}"}
    hl.backend.functions().add(
        FunctionCall(
            run_id="r",
            call_id="call-1",
            spec=FunctionCallSpec(
                fn="send_email", kwargs={"to": ["ann@example.com"], "subject": "Hi", "body": "Hello."}
            ),
        )
    )

    unknown = httpx.post(f"{base}/call-nope/result", json={"status": "succeeded"}, headers=headers)
    pending = httpx.post(f"{base}/call-1/result", json={"status": "succeeded"}, headers=headers)
    stranger = httpx.post(f"{base}/call-1/result", json={"status": "succeeded"})

    assert unknown.status_code == 404
    assert pending.status_code == 409 and pending.json()["error"]["code"] == "conflict"
    assert stranger.status_code == 401
    assert Action.objects.get().status == "pending"
