"""Witnesses: where each signed chain head is also written, outside PostgreSQL, so that whoever
can rewrite the database (a superuser, someone with the data directory) cannot also make the
heads that were written disappear.

A witness is any object with a `name`, `write(number, record)` that stores a head's record
(canonical JSON text, `ChainHead.record()`) once and refuses to overwrite one, and, when it can
be read back (`readable`), `read(number)` and `latest()`. `configured()` builds them from the
settings: the append-only directory (`AUDIT_WITNESS_DIR`, on by default) and a webhook
receiver (`AUDIT_WITNESS_WEBHOOK_URL`, write-only), and a remote witness that answers each head
with a countersigned receipt and can be read back (`AUDIT_WITNESS_REMOTE_URL`): the one anchor that
whoever holds the database, the witness directory and the signing key together cannot rewrite.
Another kind (an S3 bucket with object lock) is a class with the same methods, listed in
`AUDIT_WITNESS_CLASSES`.
"""

import base64
import fcntl
import hashlib
import json
import os
import struct
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

    def not_append_only(self):
        """The directories of this witness (itself and each shard it writes heads into) from which
        a head's file could be deleted or renamed: the attribute is not inherited, so a shard made
        after `chattr +a` needs its own."""
        directories = [self.path, *(self.path / f"{shard:08d}" for shard in sorted(_numbered(self.path)))]
        return [str(directory) for directory in directories if not is_append_only(directory)]

    def numbers(self):
        """Every head number stored, ascending."""
        found = []
        for shard in sorted(_numbered(self.path)):
            found += sorted(_numbered(self.path / f"{shard:08d}", suffix=".json"))
        return found


# Linux's FS_IOC_GETFLAGS and its append-only flag (what `chattr +a` sets and `lsattr` shows).
FS_IOC_GETFLAGS = 0x80086601
FS_APPEND_FL = 0x20
PROBE = ".append-only-probe"


def is_append_only(path):
    """Whether files in the directory `path` can be added but not deleted or renamed: its
    append-only attribute, or, where the file system cannot say, a probe file that cannot be
    removed (a volume that refuses deletes). A directory that does not exist is not."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        flags = struct.unpack("i", fcntl.ioctl(descriptor, FS_IOC_GETFLAGS, struct.pack("i", 0)))[0]
        if flags & FS_APPEND_FL:
            return True
    except OSError:
        pass  # no such attribute here: ask the directory itself
    finally:
        os.close(descriptor)
    probe = Path(path) / PROBE
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444))
    except FileExistsError:
        pass  # an earlier probe that could not be removed
    except OSError:
        return False  # not even writable: not a witness Countersign can use
    try:
        os.unlink(probe)
    except OSError:
        return True
    return False


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


def receipt_message(receipt):
    """The bytes a remote witness signs for a receipt: its name, the head's number, the SHA-256 of
    the record it stores, and when it received it, as a JSON list (no canonical form needed)."""
    fields = [receipt["witness"], receipt["number"], receipt["digest"], receipt["received_at"]]
    return json.dumps(["countersign-witness-receipt/1", *fields], separators=(",", ":")).encode()


class RemoteWitness:
    """A witness at another site that answers each head with a countersigned receipt: it stores
    the head (never overwriting one), and signs, with an Ed25519 key of its own, that it holds head
    N with this digest since this time. Verification reads it back (its newest head, any head by
    number) and checks every receipt against the witness's public key, so neither a database
    superuser, nor whoever holds the witness directory, nor whoever holds AUDIT_SIGNING_KEY can
    delete a head from it or answer in its name. The protocol (examples/witness_receiver.py is a
    complete receiver):

    - `POST <url>/heads/<number>` with the record, `Authorization: Bearer <token>`: 201 (or 200 for
      the same record again) with `{"receipt": …}`; 409 if it holds another record under that number;
    - `GET <url>/heads/latest`: `{"receipt": …}` of its newest head, or 404 when it holds none;
    - `GET <url>/heads/<number>`: `{"record": "…", "receipt": …}`, or 404;
    - `GET <url>/heads`: `{"runs": [[first, last], …]}`, the numbers it holds.

    A receipt is `{"witness", "number", "digest", "received_at", "signature"}`, the signature
    base64 Ed25519 over `receipt_message()`.
    """

    readable = True

    def __init__(self, url, *, public_key, token, timeout, name=""):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout
        self.key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        self.name = f"remote {name or self.url}"

    def _call(self, method, path, **options):
        headers = {"Authorization": f"Bearer {self.token}", **options.pop("headers", {})}
        try:
            return httpx.request(method, self.url + path, headers=headers, timeout=self.timeout, **options)
        except httpx.HTTPError as error:
            raise WitnessError(f"{self.name} did not answer: {error}") from error

    def check_receipt(self, receipt, *, number=None, record=None):
        """The receipt, when the witness's key signed it (for this head and record, if given);
        else WitnessError saying what is wrong with it."""
        from cryptography.exceptions import InvalidSignature

        try:
            self.key.verify(base64.b64decode(receipt["signature"]), receipt_message(receipt))
        except (InvalidSignature, KeyError, TypeError, ValueError):
            raise WitnessError(
                f"{self.name} answered with a receipt its key did not sign: not the witness, or altered"
            ) from None
        if number is not None and receipt["number"] != number:
            raise WitnessError(f"{self.name} answered for head #{number} with a receipt for #{receipt['number']}")
        if record is not None and receipt["digest"] != hashlib.sha256(record.encode()).hexdigest():
            raise WitnessError(f"{self.name}'s receipt for head #{number} is for another record than the one sent")
        return receipt

    def write(self, number, record):
        answer = self._call(
            "POST", f"/heads/{number}", content=record.encode(), headers={"Content-Type": "application/json"}
        )
        if answer.status_code == 409:
            raise WitnessError(f"{self.name} already holds another head #{number}")
        if answer.status_code not in (200, 201):
            raise WitnessError(f"{self.name} refused head #{number}: HTTP {answer.status_code}")
        return self.check_receipt(_json(answer, self.name).get("receipt"), number=number, record=record)

    def read(self, number):
        answer = self._call("GET", f"/heads/{number}")
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise WitnessError(f"{self.name} could not be read (head #{number}): HTTP {answer.status_code}")
        body = _json(answer, self.name)
        record = body.get("record")
        if not isinstance(record, str):
            raise WitnessError(f"{self.name} answered for head #{number} without the record")
        self.check_receipt(body.get("receipt"), number=number, record=record)
        return record

    def latest(self):
        answer = self._call("GET", "/heads/latest")
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise WitnessError(f"{self.name} could not be read (its newest head): HTTP {answer.status_code}")
        return self.check_receipt(_json(answer, self.name).get("receipt"))["number"]

    def numbers(self):
        answer = self._call("GET", "/heads")
        if answer.status_code != 200:
            raise WitnessError(f"{self.name} could not be read (its heads): HTTP {answer.status_code}")
        runs = _json(answer, self.name).get("runs") or []
        return [number for first, last in runs for number in range(first, last + 1)]


def _json(answer, name):
    try:
        body = answer.json()
    except ValueError:
        raise WitnessError(f"{name} answered with something other than JSON") from None
    if not isinstance(body, dict):
        raise WitnessError(f"{name} answered with JSON that is not an object")
    return body


def configured():
    """The witnesses the settings name, the directory first."""
    witnesses = []
    if settings.AUDIT_WITNESS_DIR:
        witnesses.append(DirectoryWitness(settings.AUDIT_WITNESS_DIR))
    if settings.AUDIT_WITNESS_REMOTE_URL:
        witnesses.append(
            RemoteWitness(
                settings.AUDIT_WITNESS_REMOTE_URL,
                public_key=settings.AUDIT_WITNESS_REMOTE_PUBLIC_KEY,
                token=settings.AUDIT_WITNESS_REMOTE_TOKEN,
                timeout=settings.HITL_WEBHOOK_TIMEOUT_SECONDS,
            )
        )
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
