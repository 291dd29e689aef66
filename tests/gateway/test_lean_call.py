"""An autonomous `tools/call` costs one statement to propose: the action's INSERT and its audit
events go to PostgreSQL together, as one commit, and the tool is found without asking again
until a change to upstreams or policies moves the policies' generation."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import Action
from audit.models import Event
from audit.verification import verify_chain
from gateway import calls
from gateway.models import Upstream
from gateway.server import Run
from policies.cache import Policies
from policies.models import ActionType

LOOKUP = {
    "name": "lookup",
    "inputSchema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    "annotations": {"readOnlyHint": True, "destructiveHint": False, "openWorldHint": False},
}


def autonomous_lookup():
    upstream = Upstream.objects.create(name="records", transport="http", url="http://127.0.0.1:9/mcp")
    upstream.register_listing([LOOKUP])
    ActionType.objects.filter(key="mcp.records.lookup").update(
        status="active", autonomy="autonomous", first_use_threshold=0
    )
    return upstream


def propose(agent, query, policies):
    run = Run(f"mcp-call-{query}", attaches=False)
    return calls.propose(agent=agent, name="records__lookup", arguments={"query": query}, run=run, policies=policies)


def test_an_autonomous_call_is_proposed_in_one_statement_with_its_events(transactional_db, agent):
    autonomous_lookup()
    policies = Policies.current()
    propose(agent, "first", policies)  # the tool and the type, read once for this generation

    with CaptureQueriesContext(connection) as queries:
        _, tool, action, created = propose(agent, "second", policies)

    [statement] = [query["sql"] for query in queries]
    assert statement.startswith('WITH change AS (INSERT INTO "approvals_action"')
    assert "audit_append_v2(" in statement
    assert (tool.name, created) == ("lookup", True)
    stored = Action.objects.get(pk=action.pk)
    assert (stored.status, stored.final_params) == (Action.Status.APPROVED, {"query": "second"})
    events = Event.objects.for_action(action.pk)
    assert [event.kind for event in events] == ["action.proposed", "action.routed"]
    assert events[0].data["proposal"]["params"] == {"query": "second"}
    assert events[1].data["level"] == "autonomous"
    assert verify_chain(full=True).ok


def test_an_upstream_switched_off_is_no_longer_found(transactional_db, agent):
    upstream = autonomous_lookup()
    propose(agent, "first", Policies.current())

    upstream.enabled = False
    upstream.save()
    upstream_found, tool, action, _ = propose(agent, "second", Policies.current())

    assert (upstream_found, tool, action) == (None, None, None)
    assert Action.objects.count() == 1


def test_a_refreshed_listing_keeps_the_tools_found(transactional_db, agent):
    upstream = autonomous_lookup()
    policies = Policies.current()
    propose(agent, "first", policies)

    # What a listing writes at most once a minute when its tools did not change: its text and age.
    Upstream.objects.filter(pk=upstream.pk).update(listing=upstream.listing, listed_at=timezone.now())

    assert Policies.current().generation == policies.generation
