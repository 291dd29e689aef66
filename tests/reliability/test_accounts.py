"""Accounts: lockout after repeated failed logins, deploy checks, security headers."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_repeated_failed_logins_lock_the_account_out(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("lena", "supervisors")

    for _ in range(3):
        client.post("/accounts/login/", {"username": "lena", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "lena", "password": PASSWORD})

    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_correct_login_after_fewer_failures_works(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("lena", "supervisors")

    client.post("/accounts/login/", {"username": "lena", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "lena", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_check_deploy_is_clean_under_production_settings():
    # Without the test suite's DJANGO_ALLOW_ASYNC_UNSAFE, which no deployment sets.
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "HITL_PRODUCTION": "true",
        "HITL_HTTPS": "true",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        # The audit log anchored in a remote witness alone: a development machine's witness directory
        # is not append-only, which production refuses (tests/audit/test_append_only_witness.py).
        "AUDIT_WITNESS_DIR": "",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_pages_carry_the_security_headers(client):
    response = client.get("/accounts/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "HITL_PRODUCTION": "true", "SECRET_KEY": ""}

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "hitl_site.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
