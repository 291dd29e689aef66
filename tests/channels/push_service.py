"""A stand-in for a browser and its push service (both outside the product): the browser's
subscription keys (a P-256 key pair and an auth secret, as a browser makes them), and a local
HTTP push endpoint that checks each request's VAPID signature (RFC 8292) against the server's
public key and decrypts its body with the subscription's private key (RFC 8291, aes128gcm, by
the http_ece library)."""

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """One browser's subscription keys: what PushSubscription.toJSON() would hold."""

    def __init__(self, endpoint):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def subscription(self):
        public = self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def decrypt(self, body):
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")


def verify_vapid(authorization, audience):
    """The claims of a `vapid t=<JWT>, k=<public key>` Authorization header, once its ES256
    signature checks out with the key it names; raises AssertionError otherwise."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    parts = dict(param.strip().split("=", 1) for param in params.split(","))
    token, public = parts["t"], parts["k"]
    header_b64, claims_b64, signature_b64 = token.split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public))
    signature = unb64url(signature_b64)
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("The VAPID JWT's signature does not verify with its key.") from None
    claims = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600  # RFC 8292: at most a day ahead
    return public, claims


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    vapid_key: str = ""
    claims: dict = field(default_factory=dict)


class PushService:
    """Records every POST (with its VAPID key and claims, checked) and answers with the next of
    `answers` (then 201 Created, as push services do)."""

    def __init__(self):
        self.received = []
        self.answers = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                try:
                    received.vapid_key, received.claims = verify_vapid(
                        received.headers["authorization"], service.origin
                    )
                except (AssertionError, KeyError, ValueError) as refused:
                    received.claims = {"refused": str(refused)}
                service.received.append(received)
                status = service.answers.pop(0) if service.answers else 201
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def browser(self, name):
        return Browser(f"{self.origin}/push/{name}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()
