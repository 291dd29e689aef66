"""Prometheus metrics for operators.

Counts come from the database at scrape time, so every web process reports the same totals
and a restart loses nothing; only routing latency (`approvals.services.ROUTING_SECONDS`) and the
requests waiting for a decision (`approvals.waiting.WAITING_REQUESTS`) are the serving process's own.
"""

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from approvals.models import Action, Decision, Notification
from approvals.services import ROUTING_SECONDS  # noqa: F401 - observed there, exposed with the process's metrics
from approvals.waiting import WAITING_REQUESTS  # noqa: F401 - likewise
from audit.models import Event


def notification_failures():
    """{action type key: notifications that failed after their retries}."""
    failed = (
        Notification.objects.filter(status=Notification.Status.FAILED, action__isnull=False)
        .values("action__action_type__key")
        .annotate(count=Count("pk"))
    )
    return {row["action__action_type__key"]: row["count"] for row in failed}


class DatabaseCollector:
    """Reads the figures at scrape time: one query per metric family, whatever the volume."""

    def collect(self):
        now = timezone.now()
        pending = GaugeMetricFamily(
            "countersign_pending_actions", "Actions waiting for a person, by action type.", labels=["action_type"]
        )
        oldest = GaugeMetricFamily(
            "countersign_oldest_pending_seconds",
            "Age of the oldest action waiting for a person, by action type.",
            labels=["action_type"],
        )
        waiting = (
            Action.objects.awaiting_review()
            .values_list("action_type__key")
            .annotate(n=Count("pk"), since=Min("created_at"))
            .order_by("action_type__key")
        )
        for key, n, since in waiting:
            pending.add_metric([key], n)
            oldest.add_metric([key], (now - since).total_seconds())
        yield pending
        yield oldest

        proposals = CounterMetricFamily(
            "countersign_proposals",
            "Proposals received, by action type and the autonomy level they were routed to.",
            labels=["action_type", "autonomy"],
        )
        for key, level, n in (
            Action.objects.values_list("action_type__key", "autonomy").annotate(n=Count("pk")).order_by()
        ):
            proposals.add_metric([key, level], n)
        yield proposals

        decisions = CounterMetricFamily(
            "countersign_decisions",
            "Decisions people made, by action type and verdict (edited = approved after an edit).",
            labels=["action_type", "verdict"],
        )
        for key, verdict, edited, n in (
            Decision.objects.values_list("action_type__key", "verdict", "edited").annotate(n=Count("pk")).order_by()
        ):
            decisions.add_metric([key, "edited" if edited else verdict], n)
        yield decisions

        escalations = CounterMetricFamily(
            "countersign_escalations", "Actions escalated to the next tier, by action type.", labels=["action_type"]
        )
        expiries = CounterMetricFamily(
            "countersign_expiries", "Actions that expired unanswered, by action type.", labels=["action_type"]
        )
        family = {"action.escalated": escalations, "action.expired": expiries}
        for kind, key, n in (
            Event.objects.filter(kind__in=family).values_list("kind", "action_type").annotate(n=Count("seq")).order_by()
        ):
            family[kind].add_metric([key], n)
        yield escalations
        yield expiries

        failures = CounterMetricFamily(
            "countersign_notification_failures",
            "Notifications (email, webhook) that could not be delivered, by action type.",
            labels=["action_type"],
        )
        for key, n in notification_failures().items():
            failures.add_metric([key], n)
        if not failures.samples:
            failures.add_metric([""], 0)
        yield failures


DATABASE = CollectorRegistry(auto_describe=False)
DATABASE.register(DatabaseCollector())


def exposition():
    """The whole scrape: the process's own metrics (routing latency among them), then the database's."""
    return generate_latest(REGISTRY) + generate_latest(DATABASE)
