"""An export is the current search, every page of it, streamed; and it is itself audited."""

import csv
import io
import json

import pytest
from django.conf import settings
from django.utils import timezone

from audit.log import Actor, append_many
from audit.models import Event
from tests.audit.test_search import history  # noqa: F401 - the same six events

pytestmark = pytest.mark.django_db


def exported(response):
    assert response.status_code == 200 and response.streaming
    return b"".join(response.streaming_content).decode()


def search_seqs(client, query):
    """Every seq the search shows, following its pages."""
    found, before = [], ""
    while True:
        page = client.get(f"/audit/?{query}{before}").context["events"]
        found += [e.seq for e in page]
        if len(page) < 50:
            return found
        before = f"&before={page[-1].seq}"


@pytest.mark.parametrize("query", ["kind=bulk.event", "q=bulk", "agent=mail-agent", "outcome=executed", ""])
def test_an_export_equals_the_search(client, auditor, history, query):  # noqa: F811
    append_many(Event(at=timezone.now(), kind="bulk.event", actor_kind="system", data={"i": i}) for i in range(130))
    client.force_login(auditor)

    shown = search_seqs(client, query)
    rows = list(csv.DictReader(io.StringIO(exported(client.get(f"/audit/export?format=csv&{query}")))))
    assert len(shown) > 0 and [int(row["seq"]) for row in rows] == shown

    shown = search_seqs(client, query)  # now with the first export's own event, if it matches
    lines = exported(client.get(f"/audit/export?format=jsonl&{query}")).splitlines()
    assert [json.loads(line)["seq"] for line in lines] == shown


def test_a_jsonl_export_carries_every_field_and_rehashes(client, auditor, history):  # noqa: F811
    client.force_login(auditor)
    line = exported(client.get("/audit/export?format=jsonl&session=run-42&kind=action.rejected")).strip()
    row = json.loads(line)

    event = Event.objects.get(seq=row["seq"])
    assert row["data"] == {"reason": "duplicate of a chargeback"}
    assert row["action_id"] == str(event.action_id) and row["hash"] == event.hash
    assert row["at"] == event.at.isoformat(timespec="microseconds")


def test_an_export_is_recorded_with_its_search(client, auditor, history):  # noqa: F811
    client.force_login(auditor)
    exported(client.get("/audit/export?format=csv&agent=mail-agent&q=invoice"))

    event = Event.objects.get(kind="audit.exported")
    assert (event.actor_kind, event.actor_name) == ("user", "audrey")
    assert event.data == {
        "format": "csv",
        "search": {"agent": "mail-agent", "q": "invoice"},
        "identity": {"method": "password", "issuer": settings.SITE_URL, "subject": str(auditor.pk)},
    }


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(client, auditor):
    from tests.audit.conftest import append

    append("action.proposed", actor=Actor("agent", "1", '=HYPERLINK("http://evil")'), summary="@SUM(A1)")
    client.force_login(auditor)
    row = next(csv.DictReader(io.StringIO(exported(client.get("/audit/export?format=csv&kind=action.proposed")))))
    assert (row["actor_name"], row["summary"]) == ('\'=HYPERLINK("http://evil")', "'@SUM(A1)")


def test_an_unknown_format_or_bad_search_is_a_400_that_records_nothing(client, auditor):
    client.force_login(auditor)
    assert client.get("/audit/export?format=xlsx").status_code == 400
    response = client.get("/audit/export?format=csv&since=soon")
    assert response.status_code == 400 and b"since" in response.content
    assert not Event.objects.filter(kind="audit.exported").exists()
