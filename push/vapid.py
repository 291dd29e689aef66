"""The server's VAPID key pair (RFC 8292), from settings: the private key signs each push
service request's JWT; the public key is what browsers subscribe with (applicationServerKey)."""

import base64

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from py_vapid import Vapid02


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def configured():
    """Is push on for this server (a VAPID private key is set)?"""
    return bool(settings.HITL_VAPID_PRIVATE_KEY)


def signer(private_key=None):
    """The Vapid02 signer for a private key (base64url of the raw 32 bytes), the configured one by default."""
    return Vapid02.from_raw((private_key or settings.HITL_VAPID_PRIVATE_KEY).encode())


def public_key(private_key=None):
    """The application server key browsers subscribe with: base64url of the uncompressed point."""
    return b64url(signer(private_key).public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def new_private_key():
    """A fresh private key in the form HITL_VAPID_PRIVATE_KEY takes."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))
