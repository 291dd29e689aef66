"""Show an agent's approval-receipt secret, for the tools that execute its approved actions."""

from django.core.management.base import BaseCommand, CommandError

from approvals.receipts import agent_secret
from policies.models import Agent


class Command(BaseCommand):
    help = "Print the HMAC secret that signs this agent's approval receipts (derived from HITL_RECEIPT_KEY)."

    def add_arguments(self, parser):
        parser.add_argument("agent", help="The agent's name.")

    def handle(self, agent, **options):
        try:
            found = Agent.objects.get(name=agent)
        except Agent.DoesNotExist:
            raise CommandError(f"No agent named {agent!r}.") from None
        self.stdout.write(agent_secret(found))
