"""Audit log figures on realistic volume: filtered and full-text search p95 through the real
view, a deep keyset page against the first, and a streamed export of everything with the
exporting process's peak memory. Prints the EXPLAIN of a full-text search.

    .venv/bin/python -m hitl_site.embedded run -- .venv/bin/python manage.py seed_scale
    .venv/bin/python -m hitl_site.embedded run -- .venv/bin/python -m bench.audit

`--seed` runs seed_scale first when the log holds fewer than a million events.

`make bench` calls `measure(stack)`: seed_scale loads the scale's volume into the bench's
database (1,000,000 events at full scale), each search runs through the view and then its SQL
(the statements on audit_event that request ran, captured) runs again directly on a cursor, the
two alternated; the CSV export runs in a process of its own.
"""

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from urllib.parse import urlencode

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings")
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from audit.forms import SearchForm  # noqa: E402
from audit.models import SEARCH_WINDOW, Event  # noqa: E402
from bench.harness import Reading, percentile  # noqa: E402

BASE_DIR = Path(__file__).resolve().parent.parent
RUNS = 40
# Events seed_scale loads (with a tenth as many actions), and searches timed of each kind, per
# scale of the harness.
VOLUME = {"tiny": (2_000, 5), "small": (100_000, 40), "full": (1_000_000, RUNS * 2)}
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


def measure(stack):
    events, runs = VOLUME[stack.scale.name]
    total = seed(events)
    client = Client()
    client.force_login(_bench_auditor())
    queries = QUERIES + [_a_customer_id()]
    filtered, filtered_sql = search_timings(client, lambda: random.choice(FILTERS), runs)
    full_text, full_text_sql = search_timings(client, lambda: {"q": random.choice(queries)}, runs)
    exported = run_export("csv")
    volume = f"{total:,} events, {runs} searches through the view, each beside its SQL run directly"
    return {
        "audit search p95, filtered": Reading(percentile(filtered, 95), percentile(filtered_sql, 95), volume),
        "audit search p95, full text": Reading(percentile(full_text, 95), percentile(full_text_sql, 95)),
        "audit export peak memory": Reading(exported["peak_mb"], note=_export_line(exported)),
        "audit export time": Reading(exported["seconds"]),
    }


def seed(events):
    """Run seed_scale (a tenth as many actions as events) unless the log holds `events` already;
    the number of events in the log."""
    total = Event.objects.count()
    if total < events:
        call_command("seed_scale", actions=events // 10, events=events - total, stdout=StringIO())
        total = Event.objects.count()
    return total


def search_timings(client, choose, runs):
    """Milliseconds of `runs` searches through the view (parameters from `choose()`), and of
    each one's statements on audit_event, captured from the request and run again directly."""
    view_ms, sql_ms = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            view_ms.append(_get(client, choose()))
        statements = [query["sql"] for query in captured.captured_queries if "audit_event" in query["sql"]]
        began = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()
        sql_ms.append((time.perf_counter() - began) * 1000)
    return view_ms, sql_ms


def main():
    if "export" in sys.argv[1:2]:
        return export(sys.argv[2])
    total = Event.objects.count()
    if total < 1_000_000 and "--seed" in sys.argv:
        total = seed(1_000_000)
    print(f"audit bench on {total:,} events")
    client = Client()
    client.force_login(_bench_auditor())
    customer = _a_customer_id()
    queries = QUERIES + [customer]

    timings, direct = search_timings(client, lambda: random.choice(FILTERS), RUNS * 2)
    _report("search with filters (page of 50)", timings)
    _report("  the same SQL run directly", direct)
    for q in queries:
        _report(f"full-text q={q!r}", [_get(client, {"q": q}) for _ in range(RUNS // 4)])
    timings, direct = search_timings(client, lambda: {"q": random.choice(queries)}, RUNS * 2)
    _report("full-text search (page of 50)", timings)
    _report("  the same SQL run directly", direct)
    timings = [_get(client, {"q": random.choice(queries), **random.choice(FILTERS[:4])}) for _ in range(RUNS)]
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

    for fmt in [] if "--no-export" in sys.argv else ["csv", "jsonl"]:
        print(_export_line(run_export(fmt)))


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


def run_export(fmt):
    """Export everything in a process of its own (`export` below): what it printed, as a dict."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.audit", "export", fmt], capture_output=True, text=True, check=True, cwd=BASE_DIR
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _export_line(exported):
    return (
        f"export {exported['format']:<5} {exported['lines']:,} lines, {exported['bytes'] / 1e6:,.0f} MB streamed in "
        f"{exported['seconds']:.1f}s ({exported['lines'] / exported['seconds']:,.0f} lines/s); "
        f"peak RSS of the process {exported['peak_mb']:.0f} MB"
    )


def export(fmt):
    """In its own process, so that its peak RSS is the export's; prints what it measured as JSON."""
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
    print(json.dumps({"format": fmt, "lines": lines, "bytes": size, "seconds": elapsed, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main()
