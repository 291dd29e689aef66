"""Who may see insights: supervisors, policy admins, auditors and superusers."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/insights/", "/insights/volume.csv"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("who", ["supervisor", "policy_admin", "auditor"])
def test_supervisors_policy_admins_and_auditors_may_see_insights(client, request, who, path):
    client.force_login(request.getfixturevalue(who))
    assert client.get(path).status_code == 200


def test_a_superuser_may_see_insights(client, superuser):
    client.force_login(superuser)
    assert client.get("/insights/").status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_an_outsider_is_refused(client, outsider, path):
    client.force_login(outsider)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_an_anonymous_visitor_is_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_posting_is_not_allowed(client, supervisor):
    client.force_login(supervisor)
    assert client.post("/insights/").status_code == 405
    assert client.post("/insights/volume.csv").status_code == 405


def test_an_unknown_chart_is_not_found(client, supervisor):
    client.force_login(supervisor)
    assert client.get("/insights/nothing.csv").status_code == 404
