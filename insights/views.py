"""Insights for supervisors, policy admins and auditors; /metrics for operators."""

import csv
import hmac
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit.log import Actor, record
from audit.spreadsheets import spreadsheet_cell
from insights import charts
from insights.evaluation import decided_actions, decision_lines, evaluate_checker
from insights.forms import CheckerEvaluationForm, DecisionExportForm, InsightsForm
from insights.metrics import exposition
from insights.reports import TABLES, Insights
from insights.shadow import shadow_report
from policies.models import Autonomy, ShadowPolicy

LOCALHOST = ("127.0.0.1", "::1")


def _check_may_see_insights(user):
    if not user.has_perm("approvals.view_insights"):
        raise PermissionDenied("Insights are for supervisors, policy admins and auditors.")


def _duration(value):
    if value is None:
        return "–"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _figures(report, query):
    """Each chart: its title, its SVG, its numbers and where to download them."""
    levels = list(Autonomy.values)
    volume = report.volume_table()
    short = "%H:%M" if report.window.bucket == "hour" else "%b %d"
    periods = [datetime.fromisoformat(row[0]).strftime(short) for row in volume.rows]
    decision_time = report.decision_time_table()
    sla = report.sla_table()
    verdicts = report.verdict_table()
    samples = report.sample_table()
    stamps = report.rubber_stamp_table()
    figures = {
        "volume": (
            "Volume by autonomy level",
            charts.stacked_columns(periods, levels, [row[1:-1] for row in volume.rows]),
            levels,
            volume,
        ),
        "decision-time": (
            "Time to decision: median to 90th percentile",
            charts.ranges(
                [row[0] for row in decision_time.rows],
                [(row[2], row[2], row[3]) for row in decision_time.rows],
                [f"{_duration(row[2])} – {_duration(row[3])}" for row in decision_time.rows],
                axis=_duration,
            ),
            [],
            decision_time,
        ),
        "sla": (
            "SLA warnings, escalations, breaches and expiries",
            charts.horizontal_stacks([row[0] for row in sla.rows], sla.header[1:], [row[1:] for row in sla.rows]),
            sla.header[1:],
            sla,
        ),
        "verdicts": (
            "Approve, edit, reject",
            charts.horizontal_stacks(
                [row[0] for row in verdicts.rows], verdicts.header[1:4], [row[1:4] for row in verdicts.rows], share=True
            ),
            verdicts.header[1:4],
            verdicts,
        ),
        "samples": (
            "Sample error rates, 95% interval, against the target",
            charts.ranges(
                [row[0] for row in samples.rows if row[2]],
                [(row[5], row[4], row[6]) for row in samples.rows if row[2]],
                # From the unrounded rates (the table's are rounded to 4 places for the CSV).
                [f"{rate.text}, target {rate.target_text}" for rate in report.samples if rate.judged],
                axis=lambda v: f"{v:.1%}".replace(".0%", "%"),
                targets=[row[7] for row in samples.rows if row[2]],
                text_width=250,
            ),
            ["interval", "target"],
            samples,
        ),
        "rubber-stamps": (
            f"Decided in under {settings.HITL_RUBBER_STAMP_SECONDS:g} s of the card being shown",
            charts.horizontal_stacks(
                [row[0] for row in stamps.rows],
                ["too fast", "read"],
                [(row[3], row[2] - row[3]) for row in stamps.rows],
                share=True,
            ),
            ["too fast", "read"],
            stamps,
        ),
    }
    fast = f"{settings.HITL_RUBBER_STAMP_SECONDS:g} s"
    warnings = {
        "rubber-stamps": [
            f"{row[0]} decided {row[3]} of {row[2]} timed cards ({row[4]:.0%}) in under {fast}: "
            "too fast to have read them."
            for row in stamps.rows
            if row[3]
        ]
    }
    return [
        {
            "name": name,
            "title": title,
            "svg": svg,
            "legend": [(label, label.replace(" ", "-")) for label in legend],
            "table": table,
            "warnings": warnings.get(name, []),
            "csv_url": reverse("insights_csv", args=[name]) + query,
        }
        for name, (title, svg, legend, table) in figures.items()
    ]


@require_GET
@login_required
def insights(request):
    _check_may_see_insights(request.user)
    form = InsightsForm(request.GET)
    if not form.is_valid():
        return render(request, "insights/insights.html", {"form": form}, status=400)
    report = Insights(form.window())
    human, total = report.human_share()
    recommendations = report.recommendation_table().rows
    type_ids = report.action_type_ids() if recommendations else {}
    return render(
        request,
        "insights/insights.html",
        {
            "form": form,
            "report": report,
            "figures": _figures(report, "?" + request.GET.urlencode() if request.GET else ""),
            "human": human,
            "total": total,
            "human_share": f"{human / total:.0%}" if total else "–",
            "recommendations": [
                (key, advice, why, reverse("admin:policies_actiontype_change", args=[type_ids[key]]))
                for key, advice, why in recommendations
            ],
        },
    )


@require_GET
@login_required
def insights_csv(request, chart):
    if chart not in TABLES:
        raise Http404("No such chart.")
    _check_may_see_insights(request.user)
    form = InsightsForm(request.GET)
    if not form.is_valid():
        errors = [f"{name}: {error}" if name != "__all__" else error for name, e in form.errors.items() for error in e]
        return HttpResponse("; ".join(errors), status=400, content_type="text/plain; charset=utf-8")
    table = TABLES[chart](Insights(form.window()))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="insights-{chart}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.header)
    writer.writerows([spreadsheet_cell(value) for value in row] for row in table.rows)
    return response


@require_GET
@login_required
def shadow(request, pk):
    """One shadow policy's report: what the candidate would have done, against what people decided."""
    _check_may_see_insights(request.user)
    candidate = get_object_or_404(ShadowPolicy.objects.select_related("action_type", "created_by"), pk=pk)
    days = request.GET.get("days", "30")
    if not days.isdigit() or not 1 <= int(days) <= 366:
        return HttpResponse("days: a whole number from 1 to 366.", status=400, content_type="text/plain; charset=utf-8")
    report = shadow_report(candidate, since=timezone.now() - timedelta(days=int(days)))
    return render(
        request,
        "insights/shadow.html",
        {
            "shadow": candidate,
            "report": report,
            "days": int(days),
            "differences": candidate.difference_rows() if candidate.status == ShadowPolicy.Status.ACTIVE else [],
            "may_change": request.user.has_perm("policies.change_actiontype"),
        },
    )


@require_GET
@login_required
def decisions_export(request):
    """Every decided action as evaluation data (insights/evaluation.py), streamed as JSON Lines;
    for auditors, as the audit log's export is, and audited as an export."""
    if not request.user.has_perm("audit.view_event"):
        raise PermissionDenied("Exports of decisions are for auditors.")
    form = DecisionExportForm(request.GET)
    if not form.is_valid():
        errors = [f"{name}: {error}" for name, e in form.errors.items() for error in e]
        return HttpResponse("; ".join(errors), status=400, content_type="text/plain; charset=utf-8")
    with transaction.atomic():
        record(
            kind="audit.exported",
            actor=Actor.user(request.user),
            data={"format": "jsonl", "decisions": form.criteria()},
        )
    response = StreamingHttpResponse(
        decision_lines(decided_actions(**form.filters())), content_type="application/x-ndjson"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="countersign-decisions-{timezone.now():%Y%m%dT%H%M%SZ}.jsonl"'
    )
    return response


@login_required
def evaluate_checker_page(request):
    """Point an external checker at the labelled decisions (insights/evaluation.py) and read its
    agreement with people per type, before enabling it live. For policy admins: the proposals are
    sent, unredacted, as a live checker would get them. Audited, with the tables."""
    if not request.user.has_perm("policies.change_actiontype"):
        raise PermissionDenied("Evaluating a checker is for policy admins.")
    if request.method != "POST":
        form = CheckerEvaluationForm(initial={"action_type": request.GET.get("action_type")})
        return render(request, "insights/checker.html", {"form": form})
    form = CheckerEvaluationForm(request.POST)
    if not form.is_valid():
        return render(request, "insights/checker.html", {"form": form}, status=400)
    data = form.cleaned_data
    actions = decided_actions(action_type=data["action_type"].key if data["action_type"] else None, since=data["since"])
    # Remote calls, outside any transaction; the audit event after, in its own.
    tables = evaluate_checker(
        actions, url=data["url"], secret=data["secret"], timeout=data["timeout"], limit=data["limit"]
    )
    with transaction.atomic():
        record(
            kind="checker.evaluated",
            actor=Actor.user(request.user),
            data={"url": data["url"], "tables": {key: table.as_json() for key, table in tables.items()}},
        )
    return render(request, "insights/checker.html", {"form": form, "tables": tables, "evaluated": True})


@require_GET
def metrics(request):
    """Prometheus text format. With HITL_METRICS_TOKEN set, only `Authorization: Bearer <token>`
    may read it; without, only a scraper on this machine (a token keeps it usable behind a proxy)."""
    token = settings.HITL_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return HttpResponse("A valid metrics token is required.\n", status=401, content_type="text/plain")
    elif request.META.get("REMOTE_ADDR") not in LOCALHOST:
        return HttpResponse("Set HITL_METRICS_TOKEN to scrape from elsewhere.\n", status=403, content_type="text/plain")
    return HttpResponse(exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")
