from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand
from django.db import transaction

from policies.demo import install_action_types
from policies.models import Agent, AgentToken

ROLES = {
    "supervisors": [],
    "policy_admins": [
        "policies.view_actiontype",
        "policies.add_actiontype",
        "policies.change_actiontype",
        "policies.view_agent",
        "policies.add_agent",
        "policies.change_agent",
        "policies.view_agenttoken",
        "policies.change_agenttoken",
        "policies.view_rule",
        "policies.add_rule",
        "policies.change_rule",
        "policies.delete_rule",
        "policies.view_standingapproval",
        "policies.change_standingapproval",
        "policies.view_escalationtier",
        "policies.add_escalationtier",
        "policies.change_escalationtier",
        "policies.delete_escalationtier",
        "gateway.view_upstream",
        "gateway.add_upstream",
        "gateway.change_upstream",
        "gateway.delete_upstream",
        "gateway.view_upstreamtool",
        "gateway.change_upstreamtool",
    ],
    "auditors": ["audit.view_event", "approvals.view_action"],
    "sample_reviewers": [],
}
# user name → (group, is_staff)
DEMO_USERS = {
    "supervisor": ("supervisors", False),
    "policyadmin": ("policy_admins", True),
    "auditor": ("auditors", False),
    "sampler": ("sample_reviewers", False),
}
DEMO_AGENT = "demo-agent"


class Command(BaseCommand):
    help = "Create the roles, demo users, a demo agent and realistic action types. Safe to run again."

    @transaction.atomic
    def handle(self, **options):
        password = settings.HITL_DEMO_PASSWORD
        for name, codenames in ROLES.items():
            group, _ = Group.objects.get_or_create(name=name)
            for codename in codenames:
                app_label, code = codename.split(".")
                group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=code))
        for username, (group_name, is_staff) in DEMO_USERS.items():
            user, created = User.objects.get_or_create(username=username, defaults={"is_staff": is_staff})
            if created:
                user.set_password(password)
                user.save()
            user.groups.add(Group.objects.get(name=group_name))
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", password)

        supervisors = Group.objects.get(name="supervisors")
        install_action_types(reviewers=supervisors)

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
