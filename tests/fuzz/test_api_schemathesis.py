"""Schemathesis against /api/v1/openapi.json: generated requests, valid and not, never get a
server error or an answer that breaks the documented schema."""

from io import StringIO

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from hitl_site.wsgi import application
from policies.models import ActionType, Agent
from policies.names import action_key_problem

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
# Not `positive_data_acceptance`: a schema-valid body can still be refused for what JSON Schema
# cannot say (an unknown action id is 404, text with NUL that PostgreSQL cannot store is 400).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def agent_headers(transactional_db):
    call_command("seed_demo", stdout=StringIO())
    token = Agent.objects.create(name="fuzzer").issue_token()
    return {"Authorization": f"Bearer {token}"}


# transaction=True: schemathesis calls the real WSGI handler, whose request_finished signal
# closes a connection held inside a test's atomic block.
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_holds_its_contract(case, agent_headers):
    case.call_and_validate(headers=agent_headers, checks=CHECKS)

    # Generated actions may register drafts, but never under a key outside the format (an earlier
    # run by hand left `.`, `0` and control characters in the policy admin).
    junk = [key for key in ActionType.objects.values_list("key", flat=True) if action_key_problem(key)]
    assert junk == []
