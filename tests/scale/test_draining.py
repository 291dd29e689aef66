"""What each kind of client hears from a web process that stops (`hitl_lib.readiness`): a load
balancer's `/readyz` 503, an agent's `/wait` its action as it stands, the inbox's stream its end
(a held MCP call: tests/gateway/test_held_calls_across_a_restart.py). Served by Countersign's ASGI application in a
thread of the test process (`asgi_url`), whose readiness the test sets as SIGTERM would
(`hitl_site.worker`; tests/scale/test_rolling_restart.py stops real processes)."""

import threading
import time

import httpx

from approvals.waiting import listener


def until(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_readyz_answers_503_while_the_process_drains(db, client, stopping_process):
    assert client.get("/readyz").status_code == 200

    stopping_process.drain()
    answer = client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["status"] == "draining"
    assert answer.json()["message"] == "This process is shutting down; send requests to another."
    assert client.get("/healthz").status_code == 200  # alive, only not ready


def test_an_agent_parked_on_wait_hears_its_action_as_it_stands_when_the_process_stops(
    asgi_url, token, pending, stopping_process
):
    headers = {"Authorization": f"Bearer {token}"}
    answers = []
    wait = threading.Thread(
        target=lambda: answers.append(
            httpx.get(f"{asgi_url}/api/v1/actions/{pending.pk}/wait?timeout=50", headers=headers, timeout=60)
        )
    )
    wait.start()
    until(lambda: listener.waiting() >= 1)

    stopping_process.drain()
    time.sleep(0.3)
    assert answers == []  # draining alone keeps serving, parked requests included
    stopping_process.release()
    wait.join(10)
    again = httpx.get(f"{asgi_url}/api/v1/actions/{pending.pk}/wait?timeout=50", headers=headers, timeout=10)

    assert answers[0].status_code == 200 and answers[0].json()["status"] == "pending"
    assert again.status_code == 200 and again.json()["status"] == "pending"  # answered at once, not parked
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_the_inbox_stream_ends_with_a_quick_reconnect_when_the_process_stops(
    asgi_url, client, supervisor, stopping_process
):
    client.force_login(supervisor)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    received = []

    def read_stream():
        with httpx.stream("GET", f"{asgi_url}/inbox/stream", cookies=cookies, timeout=30) as stream:
            for chunk in stream.iter_text():
                received.append(chunk)

    reader = threading.Thread(target=read_stream)
    reader.start()
    until(lambda: "data: connected" in "".join(received))

    stopping_process.release()
    reader.join(10)

    assert not reader.is_alive()
    assert "".join(received).endswith("retry: 250\n\n")
