"""A witness directory that is not append-only is refused in production and warned about
elsewhere (at start-up by Django's checks, on the audit page), shard by shard. The real attribute
is set with chattr, as a deployment would."""

import shutil
import subprocess

import pytest
from django.core import checks

from audit.checks import witness_directory_is_append_only
from audit.verification import verify_chain
from audit.witness import DirectoryWitness, is_append_only
from tests.audit.conftest import append


def chattr(flag, *paths):
    if shutil.which("chattr") is None:
        pytest.skip("chattr (e2fsprogs) is not installed: the append-only attribute cannot be set")
    result = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"this file system or user cannot set the append-only attribute: {result.stderr.strip()}")


@pytest.fixture
def append_only(witness_dir):
    """The witness directory with its first shard, both `chattr +a`."""
    (witness_dir / "00000000").mkdir(parents=True)
    chattr("+a", witness_dir, witness_dir / "00000000")
    yield witness_dir
    chattr("-a", witness_dir, witness_dir / "00000000")


def test_a_plain_directory_is_not_append_only_and_the_probe_leaves_nothing(tmp_path):
    assert not is_append_only(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert not is_append_only(tmp_path / "missing")


def test_an_append_only_directory_is_recognised_and_its_files_cannot_be_deleted(append_only):
    witness = DirectoryWitness(append_only)
    witness.write(1, '{"number": 1}')

    assert witness.not_append_only() == []
    with pytest.raises(PermissionError):
        (append_only / "00000000" / "000000000001.json").unlink()


def test_a_shard_without_the_attribute_is_named(append_only):
    (append_only / "00000001").mkdir()  # made by the witness at head 10,000: no attribute inherited

    assert DirectoryWitness(append_only).not_append_only() == [str(append_only / "00000001")]


@pytest.mark.django_db
def test_production_refuses_a_witness_directory_that_is_not_append_only(settings, witness_dir):
    settings.AUDIT_WITNESS_DIR_CHECK = "refuse"
    witness_dir.mkdir()

    [error] = witness_directory_is_append_only(None)

    assert error.level == checks.ERROR and error.id == "audit.E001"
    assert f"not append-only ({witness_dir})" in error.msg and "chattr +a" in error.hint


@pytest.mark.django_db
def test_elsewhere_it_is_a_warning_and_an_append_only_one_passes(settings, append_only):
    settings.AUDIT_WITNESS_DIR_CHECK = "warn"
    assert witness_directory_is_append_only(None) == []

    settings.AUDIT_WITNESS_DIR = str(append_only.parent / "plain")
    [warning] = witness_directory_is_append_only(None)
    assert warning.level == checks.WARNING and warning.id == "audit.W001"


def test_manage_py_check_names_it_at_start_up(tmp_path):
    import os
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "AUDIT_WITNESS_DIR": str(tmp_path), "AUDIT_WITNESS_DIR_CHECK": "refuse"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "audit.E001" in result.stderr and "not append-only" in result.stderr


def audit_page(client, auditor):
    append("note.written")
    verify_chain()
    client.force_login(auditor)
    return client.get("/audit/").text


@pytest.mark.django_db
def test_the_audit_page_warns_about_it(client, auditor, witness_dir):
    page = audit_page(client, auditor)

    assert 'id="witness-warning"' in page and "is not append-only" in page and "Chain intact" in page


@pytest.mark.django_db
def test_the_audit_page_says_nothing_of_an_append_only_one(client, auditor, append_only):
    page = audit_page(client, auditor)

    assert 'id="witness-warning"' not in page and "Chain intact" in page
