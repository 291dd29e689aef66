"""A rolling restart under load loses nobody: two web processes (gunicorn with Countersign's own
worker, as deployed) on the test database, twenty agents proposing and ten parked on `/wait`
through `hitl_client`, one process stopped with SIGTERM and a replacement started beside it; and
gunicorn's own reload (HUP), its workers replaced on the socket it keeps.

Between the clients and the processes stands what a load balancer does (`Balancer`): round robin
over the processes its health checks (`/readyz` every 0.1 s) find ready, and the next process when
one refuses the connection. The processes and the clients are the real ones."""

import contextlib
import re
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from approvals.models import Action
from hitl_client import Client
from policies.models import Agent
from tests.scale.conftest import env_on_test_database, free_port, start_gunicorn

PROPOSING_AGENTS = 20
PARKED_AGENTS = 10
DRAIN_SECONDS = 1.5
WAITING_GAUGE = re.compile(r"^countersign_waiting_requests (\S+)$", re.MULTILINE)


class WebProcess:
    """`gunicorn -c hitl_site/gunicorn_conf.py` of its own, one worker, on a port of its own."""

    def __init__(self, env, log_dir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_dir / f"gunicorn-{self.port}.log", "wb")
        self.process = start_gunicorn(self.port, self.log, env)

    def until_ready(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn on {self.port} exited; see {self.log.name}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        raise AssertionError(f"gunicorn on {self.port} was not ready within {seconds} s")

    def workers(self):
        """The pids of its web processes (the master's children)."""
        return [
            int(pid) for pid in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        ]

    def waiting(self):
        """How many requests this process says are parked (its /metrics gauge)."""
        match = WAITING_GAUGE.search(httpx.get(self.url + "/metrics", timeout=5).text)
        return float(match[1]) if match else 0.0

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Balancer(httpx.BaseTransport):
    """A load balancer's routing, as an httpx transport: round robin over the processes ready at
    the last health checks, and on a refused connection the next one. Every check is logged."""

    def __init__(self):
        self.processes = []
        self.ready = []
        self.checks = []  # (process, status or None when it refused the connection)
        self.turn = 0
        self.lock = threading.Lock()
        self.inner = httpx.HTTPTransport()
        self.stopping = threading.Event()
        self.checker = threading.Thread(target=self.check_health, daemon=True)

    def add(self, process):
        with self.lock:
            self.processes.append(process)

    def check_health(self):
        """Out at a 503 (the process says it drains) or after three checks without an answer, as
        HAProxy's `fall 3` (a busy machine may be slow to answer one); in again at a 200."""
        silent = {}
        with httpx.Client(timeout=5) as http:
            while not self.stopping.is_set():
                ready = []
                for process in list(self.processes):
                    try:
                        status = http.get(process.url + "/readyz").status_code
                    except httpx.TransportError:
                        status = None
                    self.checks.append((process, status))
                    silent[process] = silent.get(process, 0) + 1 if status is None else 0
                    if status == 200 or (status is None and silent[process] < 3 and process in self.ready):
                        ready.append(process)
                with self.lock:
                    self.ready = ready
                self.stopping.wait(0.1)

    def handle_request(self, request):
        with self.lock:
            candidates = list(self.ready)
            self.turn += 1
            turn = self.turn
        if not candidates:
            raise httpx.ConnectError("no web process is ready", request=request)
        error = None
        for offset in range(len(candidates)):
            process = candidates[(turn + offset) % len(candidates)]
            request.url = request.url.copy_with(host="127.0.0.1", port=process.port)
            request.headers["Host"] = f"127.0.0.1:{process.port}"
            try:
                return self.inner.handle_request(request)
            except httpx.ConnectError as refused:
                error = refused
        raise error

    def close(self):
        self.stopping.set()
        self.checker.join()
        self.inner.close()


@pytest.fixture
def restart_env(transactional_db, tmp_path):
    """The environment of the test's web processes: the test database, a short drain."""
    return env_on_test_database(HITL_WEB_WORKERS="1", HITL_DRAIN_SECONDS=str(DRAIN_SECONDS))


@pytest.fixture
def restart_balancer(restart_env, tmp_path):
    balancer = Balancer()
    started = []

    def start():
        process = WebProcess(restart_env, tmp_path)
        started.append(process)
        return process

    balancer.start = start
    yield balancer
    balancer.close()
    for process in started:
        process.stop()


class Watched(httpx.BaseTransport):
    """`inner`, noting in `cut` every request that failed in transport after it had waited at least
    a drain's length (a parked request, which the drain must answer, not cut), and in `reset` one
    that failed at once: a fresh request that met a worker as it closed (uvicorn closes a connection
    it accepted but has not read yet), never processed, which the client's one retry covers."""

    def __init__(self, inner, cut, reset):
        self.inner, self.cut, self.reset = inner, cut, reset

    def handle_request(self, request):
        sent = time.monotonic()
        try:
            return self.inner.handle_request(request)
        except httpx.TransportError as error:
            waited = time.monotonic() - sent
            (self.cut if waited >= DRAIN_SECONDS else self.reset).append(
                f"{request.url.path} after {waited:.2f} s: {error!r}"
            )
            raise


class Fleet:
    """Ten agents parked on `/wait` and twenty proposing as fast as they are answered (each
    proposal with its own Idempotency-Key), through `hitl_client` with one retry of a failed
    request, no more: what the issue allows."""

    def __init__(self, base_url, transport=None):
        def client(name, transport):
            token = Agent.objects.create(name=name).issue_token(label="restart")
            return Client(base_url, token, transport=transport, retries=1, backoff=0.1, timeout=30)

        self.cut = []  # a parked agent's request that failed in transport (its connection cut)
        self.reset = []  # a fresh request of theirs refused at once, retried by the client
        watched = Watched(transport or httpx.HTTPTransport(), self.cut, self.reset)
        self.waiters = [client(f"waiting-{n}", watched) for n in range(PARKED_AGENTS)]
        self.proposers = [client(f"proposing-{n}", transport) for n in range(PROPOSING_AGENTS)]
        self.parked, self.answers, self.wait_errors = [], {}, []
        self.kept, self.failed = {}, []
        self.proposing = threading.Event()
        self.threads = []

    def park(self):
        for n, waiter in enumerate(self.waiters):
            params = {"customer": f"cus_w{n}", "amount": 20, "currency": "USD"}
            self.parked.append(waiter.propose("payments.refund", params))
        assert {action["status"] for action in self.parked} == {"pending"}
        self.waiting = [threading.Thread(target=self._wait, args=pair) for pair in zip(self.waiters, self.parked)]
        for thread in self.waiting:
            thread.start()

    def _wait(self, waiter, action):
        try:
            # The API's longest poll, longer than gunicorn's graceful timeout: only the drain answers it early.
            self.answers[action["id"]] = waiter.wait(action["id"], timeout=120, poll=60)
        except Exception as error:  # noqa: BLE001 - the assertion names it
            self.wait_errors.append(repr(error))

    def start_proposing(self):
        self.proposing.set()
        self.load = [threading.Thread(target=self._propose, args=pair) for pair in enumerate(self.proposers)]
        for thread in self.load:
            thread.start()

    def _propose(self, n, proposer):
        sent = 0
        while self.proposing.is_set() or sent == 0:
            key = str(uuid.uuid4())
            params = {"customer": f"cus_p{n}x{sent}", "amount": 5, "currency": "USD"}
            try:
                self.kept[key] = proposer.propose("payments.refund", params, idempotency_key=key)["id"]
            except Exception as error:  # noqa: BLE001 - the assertion names it
                self.failed.append(f"{key}: {error!r}")
            sent += 1

    def stop_proposing(self):
        self.proposing.clear()
        for thread in self.load:
            thread.join(60)

    def decided_by(self, supervisor):
        """A person approves the parked agents' actions; every agent hears it, wherever it re-attached."""
        Action.approve_all(list(Action.objects.filter(pk__in=[a["id"] for a in self.parked])), by=supervisor)
        for thread in self.waiting:
            thread.join(60)

    def assert_nobody_dropped(self):
        assert self.failed == []
        assert self.wait_errors == []
        assert self.cut == []  # each parked agent was answered, none had its connection cut
        assert len(self.reset) <= PARKED_AGENTS  # at most one retry each, and each was answered (below)
        assert len(self.answers) == PARKED_AGENTS
        assert {answer["status"] for answer in self.answers.values()} == {"approved"}
        stored = Action.objects.filter(idempotency_key__in=list(self.kept))
        assert stored.count() == len(self.kept) > 50
        assert {str(pk) for pk in stored.values_list("pk", flat=True)} == set(self.kept.values())

    def close(self):
        for client in self.waiters + self.proposers:
            client.close()


def test_a_rolling_restart_under_load_keeps_every_proposal_once_and_answers_every_waiting_agent(
    restart_balancer, refund_type, supervisor
):
    balancer = restart_balancer
    old, other = balancer.start(), balancer.start()
    for process in (old.until_ready(), other.until_ready()):
        balancer.add(process)
    balancer.checker.start()
    while len(balancer.ready) < 2:
        time.sleep(0.05)
    fleet = Fleet("http://balancer", transport=balancer)
    fleet.park()
    deadline = time.monotonic() + 30
    while old.waiting() + other.waiting() < PARKED_AGENTS or old.waiting() == 0:
        assert time.monotonic() < deadline, "the agents did not park on both processes"
        time.sleep(0.1)
    fleet.start_proposing()
    time.sleep(1)

    # The restart: SIGTERM to one process, its replacement started beside it.
    stopped_at = len(balancer.checks)
    old.process.send_signal(signal.SIGTERM)
    balancer.add(balancer.start().until_ready())
    old.process.wait(60)
    time.sleep(1)  # proposals go on, on the other two
    fleet.stop_proposing()
    fleet.decided_by(supervisor)

    fleet.assert_nobody_dropped()
    # The stopped process said it was draining before it stopped answering.
    statuses = [status for process, status in balancer.checks[stopped_at:] if process is old]
    assert 503 in statuses
    assert statuses.index(503) < (statuses.index(None) if None in statuses else len(statuses))
    fleet.close()


def test_a_reload_with_hup_under_load_keeps_every_proposal_once_and_answers_every_waiting_agent(
    restart_env, tmp_path, refund_type, supervisor
):
    """systemd's `ExecReload=kill -s HUP`: gunicorn starts new workers on the socket it keeps, and
    the old ones drain. No load balancer: the clients reach the one address throughout."""
    web = WebProcess({**restart_env, "HITL_WEB_WORKERS": "2"}, tmp_path).until_ready()
    try:
        old_workers = set(web.workers())
        fleet = Fleet(web.url)
        fleet.park()
        fleet.start_proposing()
        time.sleep(1)

        web.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while set(web.workers()) & old_workers or len(web.workers()) < 2:
            assert time.monotonic() < deadline, "the old workers did not all stop"
            time.sleep(0.1)
        time.sleep(1)  # proposals go on, on the new workers
        fleet.stop_proposing()
        fleet.decided_by(supervisor)

        fleet.assert_nobody_dropped()
        assert not set(web.workers()) & old_workers
        fleet.close()
    finally:
        web.stop()
