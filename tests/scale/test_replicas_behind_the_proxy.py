"""Two web processes behind HAProxy running deploy/haproxy.cfg, round-robin and without affinity:
every feature works whichever process a request lands on, and what one process changes the other
sees at once (README, "Replicas behind a proxy")."""

import asyncio
import threading
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from approvals.models import Action
from audit.models import Event
from audit.verification import verify_chain
from policies.models import StandingApproval
from tests.channels.conftest import SIGNING_SECRET, signed
from tests.conftest import PASSWORD
from tests.gateway.conftest import Tasks, free_port, mcp_client
from tests.gateway.test_tasks import approve
from tests.gateway.test_tools_call import in_thread, run
from tests.inbox.test_hold_served import logged_in
from tests.inbox.test_stream import EventStream

pytestmark = pytest.mark.django_db(transaction=True)


def propose(url, token, amount=20):
    return httpx.post(
        url + "/api/v1/actions",
        json={"action": "payments.refund", "params": {"customer": "cus_1", "amount": amount, "currency": "USD"}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def csrf(browser):
    """The headers of an htmx POST from the page (which answers with the card, not a redirect)."""
    return {"X-CSRFToken": browser.cookies["csrftoken"], "HX-Request": "true"}


def test_proposals_through_the_proxy_are_served_by_both_processes_into_one_audit_chain(
    behind_proxy, token, refund_type
):
    proxy, _ = behind_proxy

    answers = [propose(proxy.url, token, amount) for amount in (10, 20, 30, 40)]

    assert [answer.status_code for answer in answers] == [201] * 4, answers[-1].text
    assert Action.objects.filter(status="pending").count() == 4
    assert sorted(server for server, *_ in proxy.served("POST", "/api/v1/actions")) == ["web1", "web1", "web2", "web2"]
    # Both processes appended to the one hash-chained log, which verifies whole.
    assert Event.objects.filter(kind="action.proposed").count() == 4
    assert verify_chain().problems == []


def test_a_process_whose_readyz_fails_gets_no_requests(start_web, start_proxy, token, refund_type):
    ready = start_web(1)
    # Redis unreachable: /readyz answers 503, as it does for a process draining before a restart.
    unready = start_web(1, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    proxy = start_proxy(ready + unready)
    for _ in range(300):  # HAProxy's checks: every 2 s, down after two failures
        if "Server web/web2 is DOWN" in proxy.log_path.read_text():
            break
        threading.Event().wait(0.1)

    answers = [propose(proxy.url, token, amount) for amount in (1, 2, 3, 4)]

    assert "Server web/web2 is DOWN" in proxy.log_path.read_text()
    assert [answer.status_code for answer in answers] == [201] * 4
    assert {server for server, *_ in proxy.served("POST", "/api/v1/actions")} == {"web1"}


class ParkedAgent:
    """An agent waiting on `/wait` at `url`, in a thread: `answer()` is what it was told."""

    def __init__(self, url, token, action_id):
        self.answered = None

        def wait():
            # Long enough that a wake-up which never came shows as a pending answer, not a slow one.
            self.answered = httpx.get(
                f"{url}/api/v1/actions/{action_id}/wait",
                params={"timeout": 45},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )

        self.thread = threading.Thread(target=wait)
        self.thread.start()

    def answer(self):
        self.thread.join(60)
        assert self.answered.status_code == 200, self.answered.text
        return self.answered.json()


def test_an_agent_waiting_on_one_process_is_woken_by_a_decision_on_the_other(start_web, token, reversible, supervisor):
    first, second = start_web(2)
    action_id = propose(first.url, token).json()["id"]
    agent = ParkedAgent(first.url, token, action_id)

    browser = logged_in(second.url, supervisor)
    decided = browser.post(f"/actions/{action_id}/approve", headers=csrf(browser))

    assert decided.status_code == 200 and "Approved" in decided.text, decided.text[:500]
    answer = agent.answer()
    assert (answer["status"], answer["decision"]["by"]) == ("approved", "sue")


def test_a_decision_from_slack_on_one_process_wakes_the_agent_waiting_on_the_other(
    start_web, token, refund_type, supervisor, slack_api
):
    first, second = start_web(
        2, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack_api.url
    )
    slack_api.users["U_SUE"] = (supervisor.email, True)  # her verified work email links her
    action_id = propose(first.url, token).json()["id"]
    agent = ParkedAgent(first.url, token, action_id)

    press = {
        "type": "block_actions",
        "trigger_id": "trigger-1",
        "user": {"id": "U_SUE"},
        "channel": {"id": "C_REFUNDS"},
        "actions": [{"action_id": "approve", "value": action_id}],
    }
    body, headers = signed(press)
    pressed = httpx.post(
        second.url + "/slack/interactions",
        content=body,
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )

    assert pressed.status_code == 200, pressed.text
    answer = agent.answer()
    assert (answer["status"], answer["decision"]["by"]) == ("approved", "sue")


def test_the_inbox_stream_through_the_proxy_hears_changes_made_on_either_process(
    behind_proxy, token, refund_type, supervisor
):
    proxy, webs = behind_proxy
    stream = EventStream(proxy.url, supervisor)
    try:
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.next() == ("changed", "connected")
        heard = []
        for web in webs:  # one of them is not the process holding the stream
            assert propose(web.url, token).status_code == 201
            # Read while the stream stays open: an event the proxy held back would time out here.
            heard.append(stream.next(timeout=10))
    finally:
        stream.close()

    assert heard == [("changed", "new"), ("changed", "new")]


def test_an_mcp_clients_calls_land_on_both_processes_and_a_held_call_completes_through_polls_on_either(
    start_web,
    start_proxy,
    token,
    notes_stdio,
    state_dir,
    supervisor,
):
    webs = start_web(2, HITL_MCP_POLL_INTERVAL_MS="200")
    proxy = start_proxy(webs)
    tasks = Tasks()

    async def scenario():
        async with mcp_client(proxy.url, token, extensions=[tasks]) as client:
            await client.list_tools()
            await client.list_tools()
            call = asyncio.create_task(client.call_tool("notes__add_note", {"text": "held behind the proxy"}))
            await in_thread(approve, supervisor, "mcp.notes.add_note")
            return await call

    result = run(scenario())

    assert result.is_error is False and result.content[0].text == "noted: held behind the proxy"
    assert (state_dir / "notes").read_text() == "held behind the proxy\n"
    assert Action.objects.get(action_type__key="mcp.notes.add_note").status == "executed"
    servers = [server for server, *_ in proxy.served("POST", "/mcp/")]
    # Round-robin: each call on the other process than the one before, the task's polls included.
    assert len(servers) >= 4 and all(a != b for a, b in zip(servers, servers[1:], strict=False)), servers
    assert tasks.seen[0].status == "working" and tasks.seen[-1].status == "completed"


def test_a_2025_mcp_session_through_the_proxy_is_served_by_both_processes(behind_proxy, token, notes_stdio):
    proxy, _ = behind_proxy
    legacy = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {token}"}
    initialize = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}}
    opened = httpx.post(
        proxy.url + "/mcp/",
        json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize},
        headers=legacy,
    )
    in_session = {**legacy, "Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}

    listed = [
        httpx.post(
            proxy.url + "/mcp/",
            json={"jsonrpc": "2.0", "id": n, "method": "tools/list"},
            headers=in_session,
            timeout=60,
        )
        for n in (2, 3)
    ]

    assert [answer.status_code for answer in listed] == [200, 200]
    assert all("notes__add_note" in answer.text for answer in listed)
    # Opened on one process, listed on the other, then on the first again.
    servers = [server for server, *_ in proxy.served("POST", "/mcp/")]
    assert len(servers) == 3 and servers[0] != servers[1] != servers[2], servers


def test_an_agents_rate_is_counted_across_processes(start_web, start_proxy, token, refund_type, fresh_rate_counters):
    # An hour's window: the five requests cannot straddle two windows.
    proxy = start_proxy(start_web(2, HITL_AGENT_RATE_LIMIT="4", HITL_AGENT_RATE_WINDOW="3600"))

    answers = [propose(proxy.url, token, amount) for amount in (1, 2, 3, 4, 5)]

    assert [answer.status_code for answer in answers] == [201, 201, 201, 201, 429]
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert {server for server, *_ in proxy.served("POST", "/api/v1/actions")} == {"web1", "web2"}


def test_a_policy_change_on_one_process_applies_on_the_other_at_once(start_web, token, agent, reversible, supervisor):
    first, second = start_web(2)
    standing = StandingApproval.objects.create(
        action_type=reversible, agent=agent, expires_at=timezone.now() + timedelta(hours=1), max_uses=100
    )
    # Each process has read (and keeps) the policies with the standing approval in them.
    assert [propose(web.url, token).json()["status"] for web in (first, second)] == ["approved", "approved"]

    browser = logged_in(first.url, supervisor)
    revoked = browser.post(f"/standing-approvals/{standing.pk}/revoke", headers=csrf(browser))

    assert revoked.status_code == 302
    assert propose(second.url, token).json()["status"] == "pending"


def test_the_client_address_is_the_one_the_proxy_saw_and_a_forged_one_is_not_believed(behind_proxy, supervisor):
    proxy, webs = behind_proxy
    failed = {"username": supervisor.username, "password": "not " + PASSWORD}
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}

    def fail_login(url, source):
        # From an address of our own: the proxy's (127.0.0.1) is the one the web processes trust.
        with httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=source), timeout=30) as client:
            token = client.get("/accounts/login/").cookies["csrftoken"]
            answer = client.post("/accounts/login/", data={**failed, "csrfmiddlewaretoken": token}, headers=forged)
            assert answer.status_code == 200  # the form again, with its error

    fail_login(proxy.url, "127.0.0.7")
    fail_login(webs[0].url, "127.0.0.8")

    addresses = [event.data["ip"] for event in Event.objects.filter(kind="user.login_failed").order_by("seq")]
    # Through the proxy: the client's own address, which HAProxy appended after the forged one.
    # Straight to a web process from elsewhere: the peer, whatever the headers claim.
    assert addresses == ["127.0.0.7", "127.0.0.8"]
