"""Hostile content: XSS and injection payloads in every agent-supplied field, sent through the real
API, then every page that shows them opened in Chromium. Nothing runs, nothing loads from where
a payload points, no payload attribute reaches the DOM, template syntax shows literally, and the
Content Security Policy would block inline script anyway.

A 1 MB string cannot reach a page: the API refuses bodies over its limit with 413
(tests/reliability/test_limits.py); the largest string here is the largest body it accepts.
"""

import json

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from approvals.models import Action
from policies.models import ActionType
from sampling.models import Sample
from tests.browser.test_approve import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVIL = "evil.example"  # every URL a payload names is on this host; no request may go there
MARK = "PWNED"  # every attribute a payload tries to smuggle in carries this

PAYLOADS = [
    f"<script>alert('{MARK}')</script>",
    f"<img src=https://{EVIL}/img.png onerror=\"alert('{MARK}')\">",
    f"<a href=\"javascript:alert('{MARK}')\">click</a>",
    f"javascript:alert('{MARK}')",
    f'<button hx-post="https://{EVIL}/post" hx-trigger="load" data-x="{MARK}">x</button>',
    f'<div hx-get="https://{EVIL}/get" hx-trigger="load" hx-on:htmx:load="alert(\'{MARK}\')">{MARK}</div>',
    f'"><svg onload="alert(\'{MARK}\')">',
    f"' onmouseover='alert(\"{MARK}\")' x='",
    "{{ 7|add:1 }}",
    "{% debug %}",
    f"![{MARK}](https://{EVIL}/md.png) and [a link](https://{EVIL}/md-link)",
    f"\u202egnp.{MARK}.exe",
    f'<iframe src="https://{EVIL}/frame"></iframe><link rel=stylesheet href="https://{EVIL}/x.css">',
]
LITERALS = ["{{ 7|add:1 }}", "{% debug %}"]
BIG = "<script>alert(1)</script>" * ((settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2) // 25)


def nested(depth):
    value = {"deepest": PAYLOADS[1]}
    for level in range(depth):
        value = {f"level{level}": value}
    return value


@pytest.fixture
def hostile_type(db):
    action_type = ActionType.objects.create(
        key="notes.send",
        name="Send a note",
        params_schema={"type": "object"},
        summary_template="Send {{ note }}",
        autonomy="confirm",
        editable_params=["note"],
        allow_irreversible_unattended=True,
        first_use_threshold=0,
    )
    assign_perm("policies.review_actiontype", Group.objects.get_or_create(name="supervisors")[0], action_type)
    return action_type


def propose_everywhere(api):
    """Each payload in every agent-supplied field; one more with the big string and deep JSON."""
    ids = []
    for number, payload in enumerate(PAYLOADS):
        short = payload[:200]
        response = api.propose(
            action="notes.send",
            params={"note": payload, "to": payload, "nested": {"list": [payload]}},
            rationale=payload,
            context={"ticket": payload, "untrusted": ["ticket"]},
            session_id=short,
            on_behalf_of=short,
            model=short,
            prompt_version=short,
            batch=f"batch-{short}",
            idempotency_key=f"hostile-{number}",
        )
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
        escalation = api.post("/escalations", {"kind": "wrong", "message": payload, "action_id": ids[-1]})
        assert escalation.status_code == 201, escalation.content
    big = api.propose(
        action="notes.send",
        params={"note": BIG[:20_000], "blob": BIG},
        rationale=BIG[:20_000],
        context=nested(settings.HITL_MAX_JSON_DEPTH - 3),
    )
    assert big.status_code == 201, big.content[:500]
    ids.append(big.json()["id"])
    return ids


def payload_markup(page):
    """Elements or attributes in the DOM that came from a payload as markup, not as text."""
    return page.evaluate(
        """([mark, evil]) => [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
            .filter(a => ((a.name.startsWith('on') || a.name.startsWith('hx-'))
                          && (a.value.includes(mark) || a.value.includes(evil)))
                         || (['src', 'href'].includes(a.name)
                             && (a.value.includes(evil) || a.value.trim().startsWith('javascript:'))))
            .map(a => `<${el.tagName.toLowerCase()} ${a.name}="${a.value}">`))""",
        [MARK, EVIL],
    )


def test_the_check_finds_payload_markup_when_it_is_there(page):
    """The DOM check can fail: on a page that pastes the payloads in as HTML, it finds them."""
    page.route(f"**/*{EVIL}*/**", lambda route: route.abort())
    page.set_content("<body>" + "".join(PAYLOADS) + "</body>")
    found = payload_markup(page)
    assert any("onerror" in f for f in found) and any("hx-post" in f for f in found)
    assert any("javascript:" in f for f in found) and any(EVIL in f for f in found)


def test_hostile_payloads_render_inert_on_every_page(page, live_server, hostile_type, superuser, api):
    ids = propose_everywhere(api)
    first = Action.objects.get(pk=ids[0])
    Sample.objects.create(action=first, action_type=first.action_type)

    dialogs, escapes = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.route(f"**/*{EVIL}*/**", lambda route: (escapes.append(route.request.url), route.abort()))
    page.on("request", lambda request: EVIL in request.url and escapes.append(request.url))
    log_in(page, live_server, superuser)

    pages = [
        "/",
        *[f"/actions/{pk}/" for pk in ids],
        *[f"/actions/{pk}/edit" for pk in ids],
        "/batch/approve?" + "&".join(f"ids={pk}" for pk in ids),
        f"/audit/?q={MARK}",
        "/audit/",
        "/samples/",
        "/insights/",
    ]
    smuggled, literal_missing, weak_csp = [], [], []
    for path in pages:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        page.wait_for_timeout(50)  # let anything that would fire on load fire
        csp = response.headers.get("content-security-policy", "")
        if "script-src 'self'" not in csp or "unsafe-inline" in csp:
            weak_csp.append(f"{path}: {csp!r}")
        smuggled += [f"{path}: {found}" for found in payload_markup(page)]
        shown = [PAYLOADS[ids.index(pk)] for pk in ids if path.startswith(f"/actions/{pk}/") and pk != ids[-1]]
        if path == "/" or (shown and shown[0] in LITERALS):
            text = page.inner_text("body")
            expected = LITERALS if path == "/" else shown
            literal_missing += [f"{path}: {literal}" for literal in expected if f"Send {literal}" not in text]

    assert dialogs == []
    assert escapes == []
    assert smuggled == []
    assert literal_missing == []
    assert weak_csp == []


def test_the_audit_export_is_a_download_never_a_page(page, live_server, hostile_type, superuser, api):
    propose_everywhere(api)
    log_in(page, live_server, superuser)
    for fmt, content_type in (("csv", "text/csv"), ("jsonl", "application/x-ndjson")):
        response = page.request.get(f"{live_server.url}/audit/export?format={fmt}&q={MARK}")
        assert response.status == 200
        assert response.headers["content-type"].startswith(content_type)
        assert response.headers["content-disposition"].startswith("attachment")
        assert response.headers["x-content-type-options"] == "nosniff"
        body = response.text()
        assert MARK in body  # the payloads are in the export, as data
        if fmt == "jsonl":
            assert all(json.loads(line) for line in body.splitlines())
