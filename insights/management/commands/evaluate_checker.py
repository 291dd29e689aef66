"""Evaluate an external checker against what people decided, before enabling it live: each
labelled decision is sent to the checker as a live proposal would be, and its verdicts are set
against people's in a confusion table per action type (docs/evidence.md)."""

import json

from django.core.management.base import BaseCommand, CommandError

from insights.evaluation import confusion_text, decided_actions, evaluate_checker
from insights.forms import DecisionExportForm


class Command(BaseCommand):
    help = "Send labelled decisions to an external checker URL and print its agreement with people, per type."

    def add_arguments(self, parser):
        parser.add_argument("url", help='the checker\'s URL (it answers {"verdict": "pass"|"fail", "reason": …})')
        parser.add_argument("--secret", required=True, help="the HMAC-SHA256 key its requests are signed with")
        parser.add_argument("--timeout", type=float, default=2.0, help="seconds per answer (no answer counts as fail)")
        parser.add_argument("--type", dest="action_type", help="an action type's key")
        parser.add_argument("--since", help="proposed at or after (ISO 8601)")
        parser.add_argument("--until", help="proposed before (ISO 8601)")
        parser.add_argument("--limit", type=int, default=500, help="at most this many decisions are sent")
        parser.add_argument("--json", action="store_true", help="print the tables as JSON")

    def handle(self, *args, **options):
        if not options["url"].startswith(("http://", "https://")):
            raise CommandError("The checker's URL is http(s).")
        form = DecisionExportForm({k: options[k] for k in ("action_type", "since", "until") if options[k]})
        if not form.is_valid():
            raise CommandError("; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()))
        actions = decided_actions(**form.filters())
        tables = evaluate_checker(
            actions, url=options["url"], secret=options["secret"], timeout=options["timeout"], limit=options["limit"]
        )
        if options["json"]:
            self.stdout.write(json.dumps({key: table.as_json() for key, table in tables.items()}, indent=2))
        else:
            self.stdout.write(confusion_text(tables), ending="")
