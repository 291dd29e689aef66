"""The demo: a user in each role, a demo agent and realistic action types."""

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction

from hitl_site import roles
from policies.demo import install_action_types
from policies.models import Agent, AgentToken

# user name → (group, is_staff)
DEMO_USERS = {
    "supervisor": (roles.SUPERVISORS, False),
    "policyadmin": (roles.POLICY_ADMINS, True),
    "auditor": (roles.AUDITORS, False),
    "sampler": (roles.SAMPLE_REVIEWERS, False),
    # Where the demo's actions escalate when nobody decides in time: a supervisor too.
    "lead": (roles.SUPERVISORS, False),
}
LEADS = "leads"  # the group of the demo types' escalation tier
DEMO_AGENT = "demo-agent"


class Command(BaseCommand):
    help = "Create a demo user in each role, a demo agent and realistic action types. Safe to run again."

    @transaction.atomic
    def handle(self, **options):
        password = settings.HITL_DEMO_PASSWORD
        roles.install()  # the migration made them; a database flushed since has lost them
        for username, (group_name, is_staff) in DEMO_USERS.items():
            # An email address each, so that SLA warnings and timeouts reach them (#20).
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": is_staff, "email": f"{username}@example.com"}
            )
            if created:
                user.set_password(password)
                user.save()
            user.groups.add(Group.objects.get(name=group_name))
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", password)

        supervisors = Group.objects.get(name=roles.SUPERVISORS)
        leads, _ = Group.objects.get_or_create(name=LEADS)
        User.objects.get(username="lead").groups.add(leads)
        install_action_types(reviewers=supervisors, escalate_to=leads)

        agent, _ = Agent.objects.get_or_create(
            name=DEMO_AGENT, defaults={"description": "The simulated agent of the demo."}
        )
        token = settings.HITL_DEMO_AGENT_TOKEN
        if not AgentToken.objects.filter(digest=AgentToken.digest_of(token)).exists():
            agent.tokens.create(label="demo", prefix=token[:10], digest=AgentToken.digest_of(token))

        self.stdout.write(
            f"Demo logins (password {password!r}): admin, "
            + ", ".join(f"{username} ({group})" for username, (group, _) in DEMO_USERS.items())
        )
        self.stdout.write(f"Demo agent {DEMO_AGENT!r}, token: {token}")
