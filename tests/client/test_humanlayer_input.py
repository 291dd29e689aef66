"""The HumanLayer routes take what the SDK sends, and refuse what it never would, changing nothing."""

import pytest

from approvals.models import Action

pytestmark = pytest.mark.django_db

CALL = {
    "run_id": "run-1",
    "call_id": "call-1",
    "spec": {"fn": "payments.refund", "kwargs": {"customer": "cus_1", "amount": 5, "currency": "USD"}},
}


@pytest.mark.parametrize(
    "status, field",
    [
        ([None, None], "status"),
        ("approved", "status"),
        ({"responded_at": 0}, "responded_at"),
        ({"approved": "no"}, "approved"),
        ({"approved": 0}, "approved"),
    ],
)
def test_a_wrongly_typed_status_is_refused_and_nothing_is_created(api, refund_type, status, field):
    response = api.post("/humanlayer/function_calls", {**CALL, "status": status})

    assert response.status_code in (400, 422), response.content
    assert field in response.content.decode()
    assert not Action.objects.exists()


def test_withdrawing_needs_approved_to_be_false_not_falsy(api, refund_type):
    assert api.post("/humanlayer/function_calls", CALL).status_code == 201

    response = api.post("/humanlayer/agent/function_calls/call-1/respond", {"approved": 0})

    assert response.status_code in (400, 422)
    assert Action.objects.get().status == "pending"
