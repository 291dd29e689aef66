from django.core.management.base import BaseCommand, CommandError

from audit.log import verify
from audit.models import Event


class Command(BaseCommand):
    help = "Walk the audit chain and fail, naming it, at the first event that does not verify."

    def handle(self, **options):
        events = Event.objects.order_by("seq").iterator(chunk_size=5000)
        broken = verify(events)
        if broken is not None:
            raise CommandError(f"audit chain broken at event #{broken.seq} ({broken.kind} at {broken.at.isoformat()})")
        self.stdout.write(f"audit chain verified: {Event.objects.count()} events")
