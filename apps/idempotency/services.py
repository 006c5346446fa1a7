"""Idempotency keys on `POST`s: a request runs once per key, and a repeat gets its answer.

`begin` claims the key before the request runs: one INSERT, which the unique constraint
makes atomic across every app server (the database is the one place all of them share, and
the kept answer must outlive a Redis flush anyway). A second request with the key finds the
row: still running is a conflict, answered is a replay, another request is refused.
`finish` keeps the answer, or lets the key go when the answer is a 5xx (the client may try
again). A mark whose request died with its process holds only until `locked_until`.

A kept answer is stored encrypted, under CHANNEL_SECRET_KEY as channel credentials and
webhook secrets are: some answers are secrets shown once (a webhook endpoint's signing
secret), and none of them should lie in the database, or in its backups, in the clear.
"""

import hashlib
import logging
import re
from datetime import timedelta

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.idempotency.models import IdempotentRequest
from apps.keys.models import ApiKey
from apps.organizations.models import Organization
from hyperrep.bulk import delete_in_batches
from hyperrep.crypto import fernet
from hyperrep.errors import Conflict, InvalidValue, ValidationFailed

log = logging.getLogger("hyperrep.idempotency")

KEEP = timedelta(hours=24)
# How long a running request holds its key: longer than any request may run (the web
# server's REQUEST_TIMEOUT is 30 s by default). Past it, the request is taken for dead.
LOCK = timedelta(minutes=2)

_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # printable ASCII


class Replay(Exception):  # not an error: the kept answer, to be sent again
    def __init__(self, kept: IdempotentRequest) -> None:
        super().__init__(kept.key)
        self.status_code = kept.status_code
        self.content_type = kept.content_type
        self.body = _sealer().decrypt(bytes(kept.body))


def _sealer() -> Fernet:
    return fernet("idempotency.answer", settings.CHANNEL_SECRET_KEY)


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """The request a key was used for: its method, its path (with or without the trailing
    slash every route takes: one route), its query string and its body, byte for byte."""
    digest = hashlib.sha256(f"{method} {path.rstrip('/')}?{query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def begin(
    *, organization: Organization, api_key: ApiKey, key: str, request_fingerprint: str
) -> IdempotentRequest:
    """Claim `key` for this request; raises Replay with the kept answer of a repeat, or the
    domain error of a key that cannot be used now."""
    key = key.strip(" \t")  # whitespace around a header's value is not part of it (RFC 9110)
    if not _VALID_KEY.fullmatch(key):
        raise InvalidValue("Invalid Idempotency-Key")
    rows = IdempotentRequest.objects.for_org(organization).filter(api_key=api_key, key=key)
    for _ in range(3):  # a row deleted between our INSERT and SELECT: try the INSERT again
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotentRequest.objects.create(
                    organization=organization,
                    api_key=api_key,
                    key=key,
                    fingerprint=request_fingerprint,
                    locked_until=now + LOCK,
                )
        except IntegrityError:
            pass
        kept = rows.first()
        if kept is None:
            continue
        answered = kept.status_code is not None
        if answered:
            expired = kept.created_at <= now - KEEP
        else:
            expired = kept.locked_until is None or kept.locked_until <= now
        if not expired:
            if kept.fingerprint != request_fingerprint:
                raise ValidationFailed("Idempotency-Key was used with a different request")
            if answered:
                raise Replay(kept)
            raise Conflict("A request with this Idempotency-Key is in progress")
        # An answer past its 24 hours, or the mark of a request that died: take the key
        # over, unless another request just did.
        taken = rows.filter(
            pk=kept.pk, status_code=kept.status_code, locked_until=kept.locked_until
        ).update(
            fingerprint=request_fingerprint,
            status_code=None,
            content_type="",
            body=b"",
            locked_until=now + LOCK,
            created_at=now,
        )
        if not taken:
            raise Conflict("A request with this Idempotency-Key is in progress")
        return rows.get()
    raise Conflict("A request with this Idempotency-Key is in progress")


def finish(claim: IdempotentRequest, status_code: int, content_type: str, body: bytes) -> None:
    """Keep the answer of the request that holds `claim`; a 5xx lets the key go instead."""
    mine = IdempotentRequest.objects.for_org(claim.organization_id).filter(
        pk=claim.pk, locked_until=claim.locked_until
    )
    if status_code >= 500:
        mine.delete()
    else:
        mine.update(
            status_code=status_code,
            content_type=content_type,
            body=_sealer().encrypt(body),
            locked_until=None,
        )


def release(claim: IdempotentRequest) -> None:
    """The request crashed: let its key go."""
    finish(claim, 500, "", b"")


def prune() -> None:
    """Delete the answers kept longer than 24 hours (and marks long abandoned)."""
    old = IdempotentRequest.objects.unscoped().filter(created_at__lt=timezone.now() - KEEP)
    deleted = delete_in_batches(old)
    if deleted:
        log.info("pruned %s idempotency keys older than 24 hours", deleted)
