"""The chain verification, run by a real Celery worker over the real Redis broker."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from audit.models import ChainHead, Event
from audit.tasks import verify_chain
from hitl_site.celery import app
from tests.audit.conftest import append

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_real_worker_verifies_the_chain_and_signs_its_head():
    append("first")
    append("second")

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        verify_chain.delay()
        deadline = time.monotonic() + 20
        while not ChainHead.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    head = ChainHead.objects.get()
    second = Event.objects.get(seq=2)
    assert (head.ok, head.seq, head.lanes) == (True, 2, {str(second.lane): [2, second.hash, 2]})
    assert head.is_authentic()
