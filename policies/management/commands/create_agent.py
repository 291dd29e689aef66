from django.core.management.base import BaseCommand, CommandError

from policies.models import Agent


class Command(BaseCommand):
    help = "Create an agent (or reuse one of that name) and print a new API token for it as the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--label", default="", help="What the token is for, to tell tokens apart.")

    def handle(self, name, label, **options):
        if not Agent.objects.filter(name=name).exists() and (problem := Agent(name=name).look_alike_problem()):
            raise CommandError(problem)
        agent, created = Agent.objects.get_or_create(name=name)
        token = agent.issue_token(label=label)
        self.stderr.write(f"{'Created' if created else 'Existing'} agent {agent.name}; its new token (shown once):")
        self.stdout.write(token)
