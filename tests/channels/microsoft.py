"""Stand-ins for Microsoft (outside the product): the Bot Framework's identity (OpenID metadata and a
JWKS for an RSA key made here, which signs the activities), Entra's token endpoint, and the Bot
Connector that receives the cards posted and updated, and answers who a conversation's member is."""

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://api.botframework.com"
APP_ID = "8f3c5a1e-0b1d-4c2e-9f00-c0a1b2c3d4e5"
APP_PASSWORD = "bot-secret"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CHANNEL = "19:refunds@thread.tacv2"
BOT_TOKEN = "connector-token-for-tests"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Microsoft:
    """One local HTTP server playing the Bot Framework's identity, Entra and the Bot Connector."""

    def __init__(self):
        self.key, self.kid = new_key(), "test-key-1"
        self.endorsements = ["msteams"]
        self.calls = []  # (method, path, JSON body) the Bot Connector received
        self.token_requests = []
        self.members = {}  # Teams user id → what GET …/members/{id} answers
        self.fail_with = None  # an HTTP status for the Bot Connector's next answers
        self.identity_down = False  # the OpenID metadata answers 503
        self.metadata_reads = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.service_url = self.url + "/teams/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # The Bot Framework's identity.

    def metadata(self):
        return {
            "issuer": ISSUER,
            "authorization_endpoint": "https://invalid.example/unused",
            "jwks_uri": self.url + "/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    def jwks(self):
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "endorsements": self.endorsements}]}

    def token_for(self, activity, *, key=None, kid=None, audience=APP_ID, expires_in=3600, issuer=ISSUER, **claims):
        now = int(time.time())
        payload = {
            "iss": issuer,
            "aud": audience,
            "exp": now + expires_in,
            "nbf": now - 60,
            "serviceUrl": activity["serviceUrl"],
            **claims,
        }
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    # What the Bot Connector received.

    def of(self, method):
        return [body for name, _, body in self.calls if name == method]

    def posts(self):
        return [(path, body) for name, path, body in self.calls if name == "POST" and path.endswith("/activities")]

    def updates(self):
        return [(path, body) for name, path, body in self.calls if name == "PUT"]

    def answer(self, method, path, body, headers):
        if path == "/openid":
            self.metadata_reads += 1
            return (503, {}) if self.identity_down else (200, self.metadata())
        if path == "/keys":
            return 200, self.jwks()
        if path == "/token":
            form = dict(parse_qsl(body))
            self.token_requests.append(form)
            if (form.get("client_id"), form.get("client_secret")) != (APP_ID, APP_PASSWORD):
                return 401, {"error": "invalid_client"}
            return 200, {"access_token": BOT_TOKEN, "token_type": "Bearer", "expires_in": 3600}
        if headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return 401, {"error": {"code": "Unauthorized"}}
        activity = json.loads(body or "{}")
        self.calls.append((method, path, activity))
        if self.fail_with:
            return self.fail_with, {"error": {"code": "ServiceError", "message": "try later"}}
        if member := re.fullmatch(r"/teams/v3/conversations/[^/]+/members/(.+)", path):
            found = self.members.get(member.group(1))
            return (200, found) if found else (404, {"error": {"code": "MemberNotFound"}})
        if method == "POST":
            return 201, {"id": f"activity-{uuid.uuid4().hex[:8]}"}
        if method == "PUT":
            return 200, {"id": path.rsplit("/", 1)[-1]}
        return 404, {}

    def _handler(self):
        microsoft = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

            def do_PUT(self):
                self._answer("PUT")

            def _answer(self, method):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                path = urlparse(self.path).path
                status, answer = microsoft.answer(method, path, body, dict(self.headers))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TeamsPerson:
    """A person in Teams pressing a card's buttons: each press is an `adaptiveCard/action` invoke
    the Bot Connector signs and posts to Countersign's messaging endpoint (Django's test client)."""

    def __init__(self, client, microsoft, *, aad_object_id, teams_id, tenant=TENANT):
        self.client, self.microsoft = client, microsoft
        self.aad_object_id, self.teams_id, self.tenant = aad_object_id, teams_id, tenant

    def activity(self, *, verb, action, conversation=CHANNEL, conversation_type="channel", **inputs):
        return {
            "type": "invoke",
            "name": "adaptiveCard/action",
            "id": f"f:{uuid.uuid4().hex}",
            "channelId": "msteams",
            "serviceUrl": self.microsoft.service_url,
            "from": {"id": self.teams_id, "name": "Someone", "aadObjectId": self.aad_object_id},
            "recipient": {"id": f"28:{APP_ID}", "name": "Countersign"},
            "conversation": {
                "id": conversation,
                "conversationType": conversation_type,
                "tenantId": self.tenant,
                "isGroup": conversation_type != "personal",
            },
            "channelData": {"tenant": {"id": self.tenant}},
            "value": {
                "action": {
                    "type": "Action.Execute",
                    "verb": verb,
                    "data": {"countersign_action": str(action.pk), **inputs},
                },
                "trigger": "manual",
            },
        }

    def send(self, activity, **token):
        authorization = token.pop("authorization", None)
        if authorization is None:
            authorization = "Bearer " + self.microsoft.token_for(activity, **token)
        return self.client.post(
            "/teams/messages",
            data=json.dumps(activity),
            content_type="application/json",
            headers={"Authorization": authorization},
        )

    def press(self, verb, action, token=None, **inputs):
        return self.send(self.activity(verb=verb, action=action, **inputs), **(token or {}))
