"""A retry after a dropped connection reuses the Idempotency-Key, so it never creates a second action."""

import socket
import threading
from urllib.parse import urlparse

import pytest

from approvals.models import Action
from audit.models import Event
from hitl_client import Client

pytestmark = pytest.mark.django_db(transaction=True)


def read_request(conn):
    """One whole HTTP/1.1 request (headers and Content-Length body) from a socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    while len(body) < length:
        body += conn.recv(65536)
    return data[: len(head) + 4] + body


def pipe(source, target):
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class DroppingProxy:
    """Forwards the first connection's request to the server, waits for its answer, then hangs up on the
    client without passing the answer on — the server did the work, the agent never heard. Every later
    connection is passed through untouched."""

    def __init__(self, upstream):
        self.upstream = (upstream.hostname, upstream.port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(self.upstream)
            if self.connections == 1:
                threading.Thread(target=self.drop_after_forwarding, args=(conn, upstream), daemon=True).start()
            else:
                threading.Thread(target=pipe, args=(conn, upstream), daemon=True).start()
                threading.Thread(target=pipe, args=(upstream, conn), daemon=True).start()

    def drop_after_forwarding(self, conn, upstream):
        upstream.sendall(read_request(conn))
        upstream.recv(65536)  # the server has answered: the action exists
        upstream.close()
        conn.close()

    def close(self):
        self.listener.close()


def test_a_proposal_retried_after_a_dropped_connection_creates_one_action(live_server, token, refund_type):
    proxy = DroppingProxy(urlparse(live_server.url))
    try:
        with Client(proxy.url, token, backoff=0.01) as client:
            proposed = client.propose("payments.refund", {"customer": "cus_1", "amount": 20, "currency": "USD"})
    finally:
        proxy.close()

    assert proxy.connections == 2  # the dropped one and the retry
    action = Action.objects.get()
    assert str(action.pk) == proposed["id"]
    assert Event.objects.filter(kind="action.proposed").count() == 1
