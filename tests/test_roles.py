"""The roles exist on every install, with their permissions, and the pages check those."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from hitl_site import roles
from hitl_site.roles import ROLES
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def installed_roles():
    """The roles as the migration left them (a transactional test's flush empties the groups)."""
    roles.install()


def permissions_of(group):
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_the_migration_creates_every_role_with_its_permissions():
    Group.objects.all().delete()  # as before the first migrate of a fresh install
    call_command("migrate", "hitl_site", "zero", verbosity=0)
    call_command("migrate", "hitl_site", verbosity=0)

    assert {group.name: permissions_of(group) for group in Group.objects.all()} == {
        name: set(permissions) for name, permissions in ROLES.items()
    }


def models_before(migration):
    """The historical models a migration runs with when only it and its dependencies are migrated."""
    return MigrationLoader(connection).project_state(("hitl_site", migration), at_end=False).apps


def test_the_first_roles_migration_alone_leaves_a_later_models_permission_to_its_own_migration():
    # As `migrate hitl_site 0001` on an empty database: approvals.Question is made later.
    Permission.objects.filter(codename="answer_question").delete()

    roles.migrate(models_before("0001_roles"), schema_editor=None)
    assert "approvals.answer_question" not in permissions_of(Group.objects.get(name=roles.SUPERVISORS))

    roles.migrate(models_before("0003_question_roles"), schema_editor=None)
    assert permissions_of(Group.objects.get(name=roles.SUPERVISORS)) == set(ROLES[roles.SUPERVISORS])


def test_a_role_naming_a_permission_no_model_defines_is_an_error(monkeypatch):
    monkeypatch.setitem(ROLES, roles.AUDITORS, [*ROLES[roles.AUDITORS], "audit.erase_history"])
    with pytest.raises(LookupError, match="audit.erase_history"):
        roles.install()


def test_a_role_keeps_the_permissions_an_admin_added():
    auditors = Group.objects.get(name=roles.AUDITORS)
    extra = Permission.objects.get(codename="view_agent")
    auditors.permissions.add(extra)
    roles.install()
    assert extra in auditors.permissions.all()


@pytest.mark.parametrize(
    ("role", "page"),
    [
        ("supervisors", "/insights/"),
        ("policy_admins", "/insights/"),
        ("auditors", "/audit/"),
        ("auditors", "/insights/"),
        ("sample_reviewers", "/samples/"),
    ],
)
def test_membership_of_a_roles_group_is_all_a_person_needs(client, role, page):
    """What the README tells an admin to do on an install without the demo: add the user to the group."""
    user = User.objects.create_user("newcomer", password=PASSWORD)
    user.groups.add(Group.objects.get(name=role))

    client.force_login(user)

    assert client.get(page).status_code == 200


def test_a_policy_admin_with_staff_status_edits_action_types_in_the_admin(client):
    user = User.objects.create_user("newcomer", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="policy_admins"))

    client.force_login(user)

    assert client.get("/admin/policies/actiontype/add/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 403
