"""The witnesses outside PostgreSQL: the append-only directory, and a webhook receiver (a tiny
local server standing in for the remote one)."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command

from audit.models import ChainHead
from audit.verification import verify_chain
from audit.witness import DirectoryWitness, WitnessError
from tests.audit.conftest import append


def test_the_directory_stores_each_head_once_and_never_overwrites(tmp_path):
    witness = DirectoryWitness(tmp_path / "w")
    assert (witness.latest(), witness.numbers()) == (None, [])
    for number in (1, 2, 9_999, 10_000, 10_001):
        witness.write(number, f'{{"number": {number}}}')

    with pytest.raises(WitnessError, match="already holds head #2"):
        witness.write(2, '{"number": 2, "forged": true}')

    assert witness.read(2) == '{"number": 2}' and witness.read(3) is None
    assert witness.latest() == 10_001
    assert witness.numbers() == [1, 2, 9_999, 10_000, 10_001]
    assert (tmp_path / "w" / "00000001" / "000000010001.json").exists()


@pytest.mark.django_db
def test_a_head_the_witness_cannot_store_is_not_stored_either(settings, tmp_path):
    append("first")
    (tmp_path / "not-a-directory").write_text("")
    settings.AUDIT_WITNESS_DIR = str(tmp_path / "not-a-directory" / "witness")

    with pytest.raises(WitnessError, match="cannot be read: .*Not a directory"):
        verify_chain()

    assert not ChainHead.objects.exists()


class Receiver(BaseHTTPRequestHandler):
    received = []
    answer = 201

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(Receiver.answer)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    Receiver.received, Receiver.answer = [], 201
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.AUDIT_WITNESS_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/heads"
    yield Receiver
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_each_head_is_posted_signed_to_the_webhook_witness(settings, receiver, witness_dir):
    append("first")
    call_command("audit_verify")

    ((headers, body),) = receiver.received
    head = ChainHead.objects.get()
    assert body.decode() == head.record() == (witness_dir / "00000000" / "000000000001.json").read_text()
    assert json.loads(body)["number"] == 1 and headers["X-Countersign-Head"] == "1"
    stamp = headers["X-Countersign-Timestamp"]
    expected = hmac.new(settings.HITL_WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    assert headers["X-Countersign-Signature"] == f"sha256={expected.hexdigest()}"


@pytest.mark.django_db
def test_a_webhook_witness_that_refuses_leaves_no_head_anywhere(receiver, witness_dir):
    append("first")
    receiver.answer = 503

    with pytest.raises(WitnessError, match="refused head #1: HTTP 503"):
        verify_chain()

    assert not ChainHead.objects.exists()
    assert not list(witness_dir.rglob("*.json"))  # the write-only witness goes first
