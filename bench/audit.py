"""Audit log figures on realistic volume: filtered and full-text search p95 through the real
view, a deep keyset page against the first, and a streamed export of everything with the
exporting process's peak memory. Prints the EXPLAIN of a full-text search.

    .venv/bin/python -m hitl_site.services run -- .venv/bin/python manage.py seed_scale
    .venv/bin/python -m hitl_site.services run -- .venv/bin/python -m bench.audit

`--seed` runs seed_scale first when the log holds fewer than a million events.
"""

import os
import random
import resource
import statistics
import subprocess
import sys
import time
from urllib.parse import urlencode

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402

from audit.forms import SearchForm  # noqa: E402
from audit.models import SEARCH_WINDOW, Event  # noqa: E402

RUNS = 40
FILTERS = [
    {"agent": "billing-agent"},
    {"kind": "action.rejected"},
    {"action_type": "payments.refund"},
    {"actor": "sue"},
    {"session": "run-7"},
    {"outcome": "rejected"},
    {"outcome": "executed"},
    {"kind": "action.rejected", "agent": "ops-agent"},
    {"action_type": "email.send", "actor": "priya"},
]
# Common words, words that always come together, rare names; a customer id is added at run time.
QUERIES = ["refund", "chargeback", "gdpr erasure", "deploy billing-api", "wrong customer", "nothing-like-this"]


def main():
    if "export" in sys.argv[1:2]:
        return export(sys.argv[2])
    total = Event.objects.count()
    if total < 1_000_000 and "--seed" in sys.argv:
        call_command("seed_scale")
        total = Event.objects.count()
    print(f"audit bench on {total:,} events")
    client = Client()
    client.force_login(_bench_auditor())
    customer = _a_customer_id()
    QUERIES.append(customer)

    timings = [_get(client, random.choice(FILTERS)) for _ in range(RUNS * 2)]
    _report("search with filters (page of 50)", timings)
    for q in QUERIES:
        _report(f"full-text q={q!r}", [_get(client, {"q": q}) for _ in range(RUNS // 4)])
    timings = [_get(client, {"q": random.choice(QUERIES)}) for _ in range(RUNS * 2)]
    _report("full-text search (page of 50)", timings)
    timings = [_get(client, {"q": random.choice(QUERIES), **random.choice(FILTERS[:4])}) for _ in range(RUNS)]
    _report("full-text + filter", timings)

    deep_before = Event.objects.order_by("seq").values_list("seq", flat=True)[total // 100]
    for label, params in [("no filter", {}), ("kind=action.proposed", {"kind": "action.proposed"})]:
        first = [_get(client, params) for _ in range(RUNS)]
        deep = [_get(client, {**params, "before": deep_before}) for _ in range(RUNS)]
        _report(f"first page, {label}", first)
        _report(f"deep page before #{deep_before}, {label}", deep)

    for q, explained in [(customer, "a rare word: the GIN index alone"), ("gdpr erasure", "common words: one window")]:
        print(f"\nEXPLAIN of a full-text search for {q!r} ({explained}):")
        form = SearchForm({"q": q})
        form.is_valid()
        events = form.events().order_by("-seq")
        if "window" in explained:
            top = Event.objects.order_by("-seq").values_list("seq", flat=True)[0]
            events = events.filter(seq__gte=top - SEARCH_WINDOW)
        print(events[:50].explain(analyze=True, buffers=True))

    for fmt in ([] if "--no-export" in sys.argv else ["csv", "jsonl"]):
        out = subprocess.run(
            [sys.executable, "-m", "bench.audit", "export", fmt], capture_output=True, text=True, check=True
        )
        print(out.stdout.strip())


def _a_customer_id():
    proposal = Event.objects.filter(kind="action.proposed", action_type="payments.refund").order_by("seq").first()
    return proposal.data["proposal"]["params"]["customer"] if proposal else "cus_12345"


def _bench_auditor():
    user, _ = User.objects.get_or_create(username="bench-auditor", defaults={"is_superuser": True})
    return user


def _get(client, params):
    began = time.perf_counter()
    response = client.get("/audit/?" + urlencode(params))
    elapsed = (time.perf_counter() - began) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed


def _report(label, timings):
    p95 = statistics.quantiles(timings, n=20)[18]
    print(f"{label:<48} p50 {statistics.median(timings):7.1f} ms   p95 {p95:7.1f} ms   (n={len(timings)})")


def export(fmt):
    """In its own process, so that its peak RSS is the export's."""
    from audit.views import export as export_view

    request = RequestFactory().get("/audit/export", {"format": fmt})
    request.user = _bench_auditor()
    began = time.perf_counter()
    response = export_view(request)
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"export {fmt:<5} {lines:,} lines, {size / 1e6:,.0f} MB streamed in {elapsed:.1f}s "
        f"({lines / elapsed:,.0f} lines/s); peak RSS of the process {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
