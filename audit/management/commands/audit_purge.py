from datetime import timedelta

from django.core.management.base import BaseCommand

from audit.retention import purge


class Command(BaseCommand):
    help = "Purge audit events older than the retention period, behind a signed checkpoint."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, help="default: AUDIT_RETENTION_DAYS")

    def handle(self, older_than_days=None, **options):
        checkpoint = purge(older_than=timedelta(days=older_than_days) if older_than_days else None)
        if checkpoint is None:
            self.stdout.write("nothing to purge")
        else:
            self.stdout.write(f"purged {checkpoint.purged} events through #{checkpoint.seq}")
