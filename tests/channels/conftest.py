"""A stand-in for Slack's Web API (outside the product) and requests signed as Slack signs them."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class SlackApi:
    """Records every Web API call and answers as Slack does: `ok`, a `ts` for a new message,
    users.info from `users` ({id: (email, confirmed)})."""

    def __init__(self):
        self.calls = []
        self.users = {}
        self.fail_with = None  # (HTTP status, error) for the next calls
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, method):
        return [args for name, args in self.calls if name == method]

    def answer(self, method, args):
        if self.fail_with:
            status, error = self.fail_with
            return status, {"ok": False, "error": error}
        if method == "chat.postMessage":
            return 200, {"ok": True, "channel": args["channel"], "ts": f"1700000000.{len(self.calls):06d}"}
        if method == "users.info":
            if args.get("user") not in self.users:
                return 200, {"ok": False, "error": "user_not_found"}
            email, confirmed = self.users[args["user"]]
            user = {"id": args["user"], "is_email_confirmed": confirmed, "profile": {"email": email}}
            return 200, {"ok": True, "user": user}
        return 200, {"ok": True}

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._answer(dict(parse_qsl(urlparse(self.path).query)))

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    args = json.loads(body or "{}")
                else:
                    args = dict(parse_qsl(body))
                self._answer({**dict(parse_qsl(urlparse(self.path).query)), **args})

            def _answer(self, args):
                method = urlparse(self.path).path.rsplit("/", 1)[-1]
                api.calls.append((method, args))
                status, answer = api.answer(method, args)
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


@pytest.fixture
def slack_api(settings):
    api = SlackApi()
    settings.SLACK_BOT_TOKEN = "xoxb-test"
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    settings.SLACK_API_URL = api.url
    yield api
    api.close()


def signed(payload, *, timestamp=None, secret=SIGNING_SECRET):
    """(body, headers) as Slack sends an interactivity request."""
    body = urlencode({"payload": json.dumps(payload)})
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return body, {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


class SlackUserAgent:
    """A person in Slack pressing buttons and submitting modals, through Django's test client."""

    def __init__(self, client, slack_id):
        self.client, self.slack_id = client, slack_id
        self.presses = 0

    def send(self, payload, **signing):
        body, headers = signed({**payload, "user": {"id": self.slack_id}}, **signing)
        return self.client.post(
            "/slack/interactions", data=body, content_type="application/x-www-form-urlencoded", headers=headers
        )

    def press(self, action_id, action, **signing):
        self.presses += 1  # Slack gives each press its own trigger, so no two bodies are alike
        return self.send(
            {
                "type": "block_actions",
                "trigger_id": f"trigger-{self.presses}",
                "channel": {"id": "C_REFUNDS"},
                "actions": [{"action_id": action_id, "value": str(action.pk)}],
            },
            **signing,
        )

    def submit(self, callback_id, action, values, selects=("common",), metadata=None):
        """Submit a modal; `metadata` is the opened view's private_metadata (by default the
        action's id alone, as a modal opened before it named its channel holds)."""
        state = {
            block: {"value": {"type": "static_select", "selected_option": {"value": value}}}
            if block in selects
            else {"value": {"type": "plain_text_input", "value": value}}
            for block, value in values.items()
        }
        return self.send(
            {
                "type": "view_submission",
                "view": {
                    "callback_id": callback_id,
                    "private_metadata": metadata or str(action.pk),
                    "state": {"values": state},
                },
            }
        )


@pytest.fixture
def sue_in_slack(client, slack_api, supervisor):
    """Sue, whose Slack account has her verified work email."""
    slack_api.users["U_SUE"] = (supervisor.email, True)
    return SlackUserAgent(client, "U_SUE")


@pytest.fixture
def microsoft(settings):
    """Microsoft's side of Teams, played locally; Countersign's bot configured to use it."""
    from teams import auth, connector
    from tests.channels.microsoft import APP_ID, APP_PASSWORD, CHANNEL, TENANT, Microsoft

    stand_in = Microsoft()
    settings.TEAMS_APP_ID = APP_ID
    settings.TEAMS_APP_PASSWORD = APP_PASSWORD
    settings.TEAMS_TENANT_ID = TENANT
    settings.TEAMS_SERVICE_URL = stand_in.service_url
    settings.TEAMS_CHANNEL_CONVERSATION_ID = CHANNEL
    settings.TEAMS_OPENID_METADATA_URL = stand_in.url + "/openid"
    settings.TEAMS_TOKEN_URL = stand_in.url + "/token"
    yield stand_in
    stand_in.close()
    auth.KEYS.clear()
    connector.forget_token()


@pytest.fixture
def sue_in_teams(client, microsoft, supervisor):
    """Sue, whose Microsoft account has her work email in her tenant's directory."""
    from tests.channels.microsoft import TeamsPerson

    microsoft.members["29:sue"] = {"id": "29:sue", "aadObjectId": "aad-sue", "email": supervisor.email}
    return TeamsPerson(client, microsoft, aad_object_id="aad-sue", teams_id="29:sue")
