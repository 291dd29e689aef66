"""The auditor's pages: search the log, export a search, see whether the chain verifies."""

import csv
import json

from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit.forms import KNOWN_KINDS, SearchForm
from audit.log import Actor, record
from audit.models import EVENT_COLUMNS, ChainHead
from audit.spreadsheets import spreadsheet_cell

PAGE_SIZE = 50
# Rows are written to the response in batches: one yield per row would cost more than the rows.
EXPORT_BATCH = 500


@require_GET
@login_required
@permission_required("audit.view_event", raise_exception=True)
def search(request):
    form = SearchForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/search.html", {"form": form, "kinds": KNOWN_KINDS}, status=400)
    events = form.events().page(
        before=form.cleaned_data["before"], size=PAGE_SIZE, widening=bool(form.cleaned_data["q"])
    )
    older = request.GET.copy()
    older["before"] = events[-1].seq if events else ""
    newest = request.GET.copy()
    newest.pop("before", None)
    return render(
        request,
        "audit/search.html",
        {
            "form": form,
            "kinds": KNOWN_KINDS,
            "events": events,
            "older_query": older.urlencode() if len(events) == PAGE_SIZE else "",
            "newest_query": newest.urlencode() if form.cleaned_data["before"] else "",
            "export_query": newest.urlencode(),
            "head": ChainHead.objects.order_by("-pk").first(),
        },
    )


@require_GET
@login_required
@permission_required("audit.view_event", raise_exception=True)
def export(request):
    """The whole current search (every page), streamed newest first, in constant memory."""
    fmt = request.GET.get("format", "")
    if fmt not in ("csv", "jsonl"):
        return HttpResponseBadRequest("Choose format=csv or format=jsonl.")
    form = SearchForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "Invalid search: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        )
    with transaction.atomic():
        exported = record(
            kind="audit.exported", actor=Actor.user(request.user), data={"format": fmt, "search": form.criteria()}
        )
    # The search as it stood when asked for: without this export's own event or any later one.
    rows = form.events().filter(seq__lt=exported.seq).order_by("-seq").values_list(*EVENT_COLUMNS)
    lines = _csv_lines(rows) if fmt == "csv" else _jsonl_lines(rows)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        _in_one_snapshot(lines), content_type="text/csv" if fmt == "csv" else "application/x-ndjson"
    )
    response["Content-Disposition"] = f'attachment; filename="countersign-audit-{stamp}.{fmt}"'
    return response


def _in_one_snapshot(lines):
    # Inside a transaction Django reads `.iterator()` through a plain server-side cursor: rows
    # arrive as PostgreSQL finds them, never all at once in this process or (WITH HOLD) on disk.
    with transaction.atomic():
        batch = []
        for line in lines:
            batch.append(line)
            if len(batch) >= EXPORT_BATCH:
                yield "".join(batch)
                batch = []
        if batch:
            yield "".join(batch)


class _Line:
    """A file-like object whose write() returns the line, for csv.writer."""

    def write(self, value):
        return value


def _csv_lines(rows):
    writer = csv.writer(_Line())
    yield writer.writerow(EVENT_COLUMNS)
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow([_csv_cell(column, value) for column, value in zip(EVENT_COLUMNS, row)])


def _csv_cell(column, value):
    if column == "data":
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if column == "at":
        return value.isoformat(timespec="microseconds")
    # The JSON Lines export keeps every value exactly.
    return spreadsheet_cell(None if value is None else str(value))


def _jsonl_lines(rows):
    for row in rows.iterator(chunk_size=2000):
        event = dict(zip(EVENT_COLUMNS, row))
        event["at"] = event["at"].isoformat(timespec="microseconds")
        event["action_id"] = str(event["action_id"]) if event["action_id"] else None
        yield json.dumps(event, ensure_ascii=False) + "\n"
