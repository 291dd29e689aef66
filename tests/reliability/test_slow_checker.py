"""A slow external checker holds up only the proposals it checks: it is asked before the
transaction that stores the action, with the request's pooled connection handed back, so thirty
proposals waiting on it leave the pool (20 connections) to everyone else."""

import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from policies.models import ActionType
from tests.policies.conftest import TAG

pytestmark = pytest.mark.django_db(transaction=True)

HELD = 30


class Gate:
    """A checker that answers nobody until the test lets it."""

    def __init__(self):
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                gate.arrived.release()
                gate.release.wait(60)
                body = b'{"verdict": "pass"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/check"

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gate():
    opened = Gate()
    yield opened
    opened.close()


def test_proposals_waiting_on_a_slow_checker_leave_the_pool_to_the_others(asgi_url, token, refund_type, gate):
    ActionType.objects.create(
        key="tickets.tag",
        name="Tag a ticket",
        params_schema={"type": "object"},
        autonomy="autonomous",
        first_use_threshold=0,
        checker_url=gate.url,
        checker_secret="s",
        checker_timeout=45,
    )
    http = httpx.Client(base_url=f"{asgi_url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def propose(action, params):
        return http.post("/actions", json={"action": action, "params": params})

    with ThreadPoolExecutor(HELD) as pool:
        held = [pool.submit(propose, "tickets.tag", {**TAG, "n": n}) for n in range(HELD)]
        for _ in range(HELD):
            assert gate.arrived.acquire(timeout=30), "the proposals did not all reach the checker"

        # Every one of the thirty is with the checker now. Another agent's refund needs a
        # connection of the pool: none of the thirty holds one.
        other = propose("payments.refund", {"customer": "cus_1", "amount": 20, "currency": "USD"})
        assert other.status_code == 201, other.text

        gate.release.set()
        answers = [future.result() for future in held]
    assert [answer.status_code for answer in answers] == [201] * HELD
    assert {answer.json()["status"] for answer in answers} == {"approved"}
