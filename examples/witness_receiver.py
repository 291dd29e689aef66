"""A remote witness for Countersign's audit log: run it at another site, under other people's
control, and point AUDIT_WITNESS_REMOTE_URL at it.

It keeps every signed chain head it is sent, never overwrites one, and answers each with a receipt
signed by its own Ed25519 key ("I hold head N, whose record has this SHA-256, since this time").
Countersign checks every receipt against the public key it is given, when it writes a head and when
it reads heads back to verify the log, so whoever takes over Countersign's database, its witness
directory and its signing key still cannot make a head this witness holds disappear, nor answer in
its name. Stand-alone: the standard library and `cryptography`, no Django.

    python examples/witness_receiver.py --dir /srv/witness --port 8470 --token "$TOKEN"

On start it prints `public-key: <base64>`, the value of AUDIT_WITNESS_REMOTE_PUBLIC_KEY. The key
is kept in <dir>/witness.key (created on first start); the heads in <dir>/heads/. Make that
directory append-only too (chattr +a), and keep the host apart from Countersign's.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

MAX_RECORD = 1 << 20


def receipt_message(receipt):
    """What the receipt's signature covers (audit.witness.receipt_message, repeated so that this
    file stands alone)."""
    fields = [receipt["witness"], receipt["number"], receipt["digest"], receipt["received_at"]]
    return json.dumps(["countersign-witness-receipt/1", *fields], separators=(",", ":")).encode()


class Store:
    def __init__(self, directory, name):
        self.root = Path(directory)
        self.heads = self.root / "heads"
        self.heads.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.key = self._key()
        self.lock = threading.Lock()

    def _key(self):
        path = self.root / "witness.key"
        try:
            return serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            with os.fdopen(descriptor, "wb") as out:
                out.write(pem)
            return key

    def public_key(self):
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def _paths(self, number):
        return self.heads / f"{number:012d}.json", self.heads / f"{number:012d}.receipt.json"

    def put(self, number, record):
        """(status, receipt): 201 stored, 200 the same record again, 409 another record."""
        head_path, receipt_path = self._paths(number)
        with self.lock:
            if head_path.exists():
                if head_path.read_text() != record:
                    return 409, None
                return 200, json.loads(receipt_path.read_text())
            receipt = {
                "witness": self.name,
                "number": number,
                "digest": hashlib.sha256(record.encode()).hexdigest(),
                "received_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            }
            receipt["signature"] = base64.b64encode(self.key.sign(receipt_message(receipt))).decode()
            for path, text in ((head_path, record), (receipt_path, json.dumps(receipt))):
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
                with os.fdopen(descriptor, "w") as out:
                    out.write(text)
                    out.flush()
                    os.fsync(out.fileno())
            return 201, receipt

    def get(self, number):
        head_path, receipt_path = self._paths(number)
        try:
            return {"record": head_path.read_text(), "receipt": json.loads(receipt_path.read_text())}
        except FileNotFoundError:
            return None

    def numbers(self):
        return sorted(int(name[:12]) for name in os.listdir(self.heads) if re.fullmatch(r"\d{12}\.json", name))


def runs(numbers):
    found = []
    for number in numbers:
        if found and number == found[-1][1] + 1:
            found[-1][1] = number
        else:
            found.append([number, number])
    return found


def handler(store, token):
    class Witness(BaseHTTPRequestHandler):
        def _authorized(self):
            given = self.headers.get("Authorization", "")
            return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

        def _answer(self, status, body=None):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802 - http.server's name
            match = re.fullmatch(r"/heads/(\d{1,12})", self.path)
            if not self._authorized():
                return self._answer(401, {"error": "bad token"})
            length = int(self.headers.get("Content-Length") or 0)
            if match is None or not 0 < length <= MAX_RECORD:
                return self._answer(400, {"error": "POST /heads/<number> with the head's record"})
            record = self.rfile.read(length).decode()
            try:
                if json.loads(record).get("number") != int(match[1]):
                    return self._answer(400, {"error": "the record is not of that head"})
            except (ValueError, AttributeError):
                return self._answer(400, {"error": "the record is not a JSON object"})
            status, receipt = store.put(int(match[1]), record)
            self._answer(status, {"receipt": receipt} if receipt else {"error": "another head has that number"})

        def do_GET(self):  # noqa: N802 - http.server's name
            if not self._authorized():
                return self._answer(401, {"error": "bad token"})
            if self.path == "/heads":
                return self._answer(200, {"runs": runs(store.numbers())})
            if self.path == "/heads/latest":
                numbers = store.numbers()
                if not numbers:
                    return self._answer(404, {"error": "no head yet"})
                return self._answer(200, {"receipt": store.get(numbers[-1])["receipt"]})
            match = re.fullmatch(r"/heads/(\d{1,12})", self.path)
            found = store.get(int(match[1])) if match else None
            return self._answer(200, found) if found else self._answer(404, {"error": "no such head"})

        def log_message(self, *args):
            pass

    return Witness


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8470)
    parser.add_argument("--token", default=os.environ.get("WITNESS_TOKEN", ""))
    parser.add_argument("--name", default="witness")
    options = parser.parse_args()
    if len(options.token) < 16:
        parser.error("--token (or WITNESS_TOKEN): at least 16 characters, shared with AUDIT_WITNESS_REMOTE_TOKEN")
    store = Store(options.dir, options.name)
    server = ThreadingHTTPServer((options.host, options.port), handler(store, options.token))
    print(f"public-key: {store.public_key()}", flush=True)
    print(f"listening: http://{options.host}:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
