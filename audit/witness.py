"""Witnesses: where each signed chain head is also written, outside PostgreSQL, so that whoever
can rewrite the database (a superuser, someone with the data directory) cannot also make the
heads that were written disappear.

A witness is any object with a `name`, `write(number, record)` that stores a head's record
(canonical JSON text, `ChainHead.record()`) once and refuses to overwrite one, and, when it can
be read back (`readable`), `read(number)` and `latest()`. `configured()` builds them from the
settings: the append-only directory (`AUDIT_WITNESS_DIR`, on by default) and a webhook
receiver (`AUDIT_WITNESS_WEBHOOK_URL`, write-only). Another kind (an S3 bucket with object lock)
is a class with the same methods, listed in `AUDIT_WITNESS_CLASSES`.
"""

import os
from pathlib import Path

import httpx
from django.conf import settings
from django.utils.module_loading import import_string

from hitl_lib.signing import signed_headers

# Heads per subdirectory, so that finding the newest reads two short listings, not one long one.
SHARD = 10_000


class WitnessError(Exception):
    """A witness refused or failed to store a head: the head must not be committed."""


class DirectoryWitness:
    """One file per head, `<dir>/<number // 10,000>/<number>.json`, created exclusively and
    synced. Make the directory append-only in a deployment (README: `chattr +a`, or a volume
    the application can create files on but not delete or rename them)."""

    readable = True

    def __init__(self, path):
        self.path = Path(path)
        self.name = f"directory {self.path}"

    def _file(self, number):
        return self.path / f"{number // SHARD:08d}" / f"{number:012d}.json"

    def write(self, number, record):
        target = self._file(number)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError:
            raise WitnessError(f"{self.name} already holds head #{number}") from None
        except OSError as error:
            raise WitnessError(f"{self.name} cannot store head #{number}: {error}") from error
        try:
            os.write(descriptor, record.encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        _sync_directory(target.parent)

    def read(self, number):
        try:
            return self._file(number).read_text()
        except FileNotFoundError:
            return None

    def latest(self):
        """The highest head number stored, or None."""
        shards = _numbered(self.path)
        for shard in sorted(shards, reverse=True):
            heads = _numbered(self.path / f"{shard:08d}", suffix=".json")
            if heads:
                return max(heads)
        return None

    def numbers(self):
        """Every head number stored, ascending."""
        found = []
        for shard in sorted(_numbered(self.path)):
            found += sorted(_numbered(self.path / f"{shard:08d}", suffix=".json"))
        return found


def _numbered(path, suffix=""):
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return []
    except OSError as error:
        raise WitnessError(f"the witness directory cannot be read: {error}") from error
    stems = (name[: len(name) - len(suffix)] for name in names if name.endswith(suffix))
    return [int(stem) for stem in stems if stem.isdigit()]


def _sync_directory(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class WebhookWitness:
    """POSTs each head's record to a receiver that keeps it (a log service, another site's
    Countersign, a bucket's upload endpoint), signed like Countersign's other webhooks:
    `X-Countersign-Signature: sha256=<HMAC-SHA256 of "<timestamp>.<body>">` with
    HITL_WEBHOOK_SECRET. Write-only: verification cannot read it back, so compare it by hand."""

    readable = False

    def __init__(self, url, *, secret, timeout):
        self.url, self.secret, self.timeout = url, secret, timeout
        self.name = f"webhook {url}"

    def write(self, number, record):
        body = record.encode()
        headers = {**signed_headers(self.secret, body), "X-Countersign-Head": str(number)}
        try:
            answer = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise WitnessError(f"{self.name} did not answer for head #{number}: {error}") from error
        if not answer.is_success:
            raise WitnessError(f"{self.name} refused head #{number}: HTTP {answer.status_code}")


def configured():
    """The witnesses the settings name, the directory first."""
    witnesses = []
    if settings.AUDIT_WITNESS_DIR:
        witnesses.append(DirectoryWitness(settings.AUDIT_WITNESS_DIR))
    if settings.AUDIT_WITNESS_WEBHOOK_URL:
        witnesses.append(
            WebhookWitness(
                settings.AUDIT_WITNESS_WEBHOOK_URL,
                secret=settings.HITL_WEBHOOK_SECRET,
                timeout=settings.HITL_WEBHOOK_TIMEOUT_SECONDS,
            )
        )
    witnesses += [import_string(path)() for path in settings.AUDIT_WITNESS_CLASSES]
    return witnesses
