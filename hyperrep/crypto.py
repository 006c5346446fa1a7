"""The server's symmetric encryption: Fernet (AES-128-CBC with an HMAC-SHA256 tag, from the
cryptography package), with one key per purpose derived from SECRET_KEY, so a value
encrypted for one purpose (a pagination cursor, a key shown once) is garbage for another."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet
from django.conf import settings


@cache
def _fernet(purpose: str, secret: str) -> Fernet:
    digest = hashlib.sha256(f"hyperrep.{purpose}:".encode() + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def fernet(purpose: str, secret: str | None = None) -> Fernet:
    """The Fernet for `purpose` under `secret` (SECRET_KEY unless given)."""
    return _fernet(purpose, secret or settings.SECRET_KEY)
