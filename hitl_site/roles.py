"""The roles people hold in Countersign, each a group with its permissions.

Every install has them: migration hitl_site 0001 creates them, and each later roles migration
adds the permissions of models made since (`install()` is safe to run again; `seed_demo` and the
tests call it too). A permission added to `ROLES` needs a roles migration that depends on the
migration making its model. An admin grants a role by adding the user to its group in /admin/
(a policy admin also needs "staff status" to sign in there). Which action types a group reviews
is not a role: it is an object permission set on each action type.
"""

from django.apps import apps as installed_apps
from django.contrib.auth.management import create_permissions

SUPERVISORS = "supervisors"
POLICY_ADMINS = "policy_admins"
AUDITORS = "auditors"
SAMPLE_REVIEWERS = "sample_reviewers"

ROLES = {
    # Review the action types whose reviewer groups include them, in the inbox.
    SUPERVISORS: ["approvals.view_insights", "approvals.answer_question"],
    # Edit action types, their rules and tiers, agents and standing approvals in the admin.
    POLICY_ADMINS: [
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
        "policies.view_shadowpolicy",
        "policies.add_shadowpolicy",
        "gateway.view_upstream",
        "gateway.add_upstream",
        "gateway.change_upstream",
        "gateway.delete_upstream",
        "gateway.view_upstreamtool",
        "gateway.change_upstreamtool",
        "approvals.view_insights",
    ],
    # Search, export and verify the audit log, and read any action it links to.
    AUDITORS: ["audit.view_event", "approvals.view_action", "approvals.view_insights"],
    # Grade the samples of what ran unattended.
    SAMPLE_REVIEWERS: ["sampling.grade_sample"],
}


def install(apps=installed_apps):
    """Create each role's group with its permissions. Adds what is missing and removes nothing,
    so permissions an admin gave a group stay.

    `apps`: a migration's historical registry. A roles migration sees the models as of its own
    dependencies, and `ROLES` is today's: a permission whose model a later migration makes (say
    `approvals.answer_question` when only `migrate hitl_site 0001` runs) is left to the roles
    migration that depends on that one. With the project's registry, every model is there, and a
    permission that does not exist is a mistake in `ROLES`."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, permissions in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for permission in permissions:
            app_label, codename = permission.split(".")
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is not None:
                group.permissions.add(found)
            elif apps is installed_apps:
                raise LookupError(f"The role {name} names {permission}, which no model defines.")


def migrate(apps, schema_editor):
    """The roles migrations' step: permissions are made after the last migration (post_migrate),
    and the roles need them now."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    install(apps)
