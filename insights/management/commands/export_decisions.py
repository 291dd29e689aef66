"""Write every decided action as evaluation data, one JSON record a line (docs/evidence.md)."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.log import Actor, record
from insights.evaluation import decided_actions, decision_lines
from insights.forms import DecisionExportForm


class Command(BaseCommand):
    help = (
        "Export decided actions as JSON Lines (schema: docs/decision-record.schema.json), redacted as the audit log is."
    )

    def add_arguments(self, parser):
        parser.add_argument("--type", dest="action_type", help="an action type's key")
        parser.add_argument("--since", help="proposed at or after (ISO 8601)")
        parser.add_argument("--until", help="proposed before (ISO 8601)")
        parser.add_argument("--decision", help="approved, edited or rejected")
        parser.add_argument("--decided-by", dest="decided_by", help="person, timeout or policy")
        parser.add_argument("-o", "--output", help="a file to write (default: standard output)")

    def handle(self, *args, **options):
        form = DecisionExportForm(
            {k: options[k] for k in ("action_type", "since", "until", "decision", "decided_by") if options[k]}
        )
        if not form.is_valid():
            raise CommandError("; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()))
        with transaction.atomic():
            record(
                kind="audit.exported",
                actor=Actor.system("export_decisions"),
                data={"format": "jsonl", "decisions": form.criteria()},
            )
        out = open(options["output"], "w", encoding="utf-8") if options["output"] else sys.stdout  # noqa: SIM115
        try:
            for line in decision_lines(decided_actions(**form.filters())):
                out.write(line)
        finally:
            if out is not sys.stdout:
                out.close()
