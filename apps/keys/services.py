"""API keys: minting, revoking and checking.

Format `hrk_<8-char lookup prefix>_<43-char base62 secret>` (about 256 bits). The database
holds the prefix and HMAC-SHA256(API_KEY_SECRET, key); checking costs one indexed lookup and
one HMAC, compared in constant time. No password hasher: they cost ~0.2 s a check.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import router, transaction
from django.db.models import Q
from django.utils import timezone

from apps.keys.models import ApiKey
from apps.organizations.models import Organization
from hyperrep import ids
from hyperrep.compiled import CompiledQuery
from hyperrep.ids import BASE62

KEY_FORMAT = re.compile(r"hrk_([A-Za-z0-9]{8})_([A-Za-z0-9]{32,128})")
SECRET_LENGTH = 43
LAST_USED_RESOLUTION = timedelta(minutes=1)


_KEY_ATTNAMES = tuple(field.attname for field in ApiKey._meta.concrete_fields)
_ORGANIZATION_ATTNAMES = tuple(field.attname for field in Organization._meta.concrete_fields)
_KEY_WIDTH = len(_KEY_ATTNAMES)

# Every request's first query, compiled once per connection (hyperrep/compiled.py): the key
# by its prefix, with the organization of the path when the key reaches it (linked to the
# key and active, organization_list's rule), in one join; or the key alone.
_key_with_organization = CompiledQuery(
    lambda prefix, organization_id: ApiKey.organizations.through.objects.filter(
        apikey__prefix=prefix,
        organization__public_id=organization_id,
        organization__is_active=True,
    ).values_list(
        *(f"apikey__{attname}" for attname in _KEY_ATTNAMES),
        *(f"organization__{attname}" for attname in _ORGANIZATION_ATTNAMES),
    )[:1]
)
_key = CompiledQuery(
    lambda prefix: ApiKey.objects.filter(prefix=prefix).order_by().values_list(*_KEY_ATTNAMES)[:1]
)


class KeyRejected(Exception):
    """Why a presented key does not authenticate; the message is the API's `detail`."""


def _random(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def key_digest(plaintext: str) -> str:
    return hmac.new(
        settings.API_KEY_SECRET.encode(), plaintext.encode(), hashlib.sha256
    ).hexdigest()


def api_key_create(
    *,
    organizations: Iterable[Organization],
    name: str = "",
    expires_at: datetime | None = None,
    read_only: bool = False,
) -> tuple[ApiKey, str]:
    """Create a key for the organizations; returns it with its plaintext (never stored)."""
    key = ApiKey(name=name, expires_at=expires_at, read_only=read_only)
    plaintext = api_key_issue_secret(key)
    with transaction.atomic():
        key.save()
        key.organizations.set(organizations)
    return key, plaintext


def api_key_issue_secret(key: ApiKey) -> str:
    """Give an unsaved key its prefix and digest and return its plaintext, which exists only
    in the caller's hands from here on. Prefixes are 8 base62 characters (62**8 = 2e14), so a
    collision is rare enough for the unique index to be the only guard against a race."""
    prefix = _random(8)
    while ApiKey.objects.filter(prefix=prefix).exists():
        prefix = _random(8)
    plaintext = f"hrk_{prefix}_{_random(SECRET_LENGTH)}"
    key.prefix = prefix
    key.digest = key_digest(plaintext)
    return plaintext


def api_key_revoke(*, key_or_prefix: str) -> ApiKey:
    """Deactivate a key given as its plaintext, `hrk_<prefix>` or the bare prefix."""
    match = KEY_FORMAT.fullmatch(key_or_prefix)
    prefix = match.group(1) if match else key_or_prefix.removeprefix("hrk_").rstrip("_")
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None or (match and not hmac.compare_digest(key.digest, key_digest(key_or_prefix))):
        raise ApiKey.DoesNotExist(f"No API key matches {key_or_prefix[:12]!r}")
    ApiKey.objects.filter(pk=key.pk).update(is_active=False)
    key.is_active = False
    return key


def api_key_authenticate(
    plaintext: str, *, organization_id: str | None = None
) -> tuple[ApiKey, Organization | None]:
    """The key a request presents, or KeyRejected with the documented reason.

    A request that names an organization (`organization_id`, as given in its path) gets it
    from the same query when the key reaches it (organization_list's rule: linked to the key
    and active): the key and its organization are one join. Otherwise the organization is
    None and the caller resolves it (organization_get), after the key's own checks, so a bad
    key is still 403 before a malformed organization id's 400 and an unknown one's 404.
    """
    match = KEY_FORMAT.fullmatch(plaintext)
    if match is None:
        raise KeyRejected("Invalid API Key")
    prefix, key, organization = match.group(1), None, None
    using = router.db_for_read(ApiKey)
    if organization_id is not None and ids.can_be_valid(organization_id, "org"):
        joined = _key_with_organization.rows(using, prefix=prefix, organization_id=organization_id)
        if joined:  # the key's columns, then the organization's
            key_values, organization_values = joined[0][:_KEY_WIDTH], joined[0][_KEY_WIDTH:]
            key = ApiKey.from_db(using, _KEY_ATTNAMES, key_values)
            organization = Organization.from_db(using, _ORGANIZATION_ATTNAMES, organization_values)
    if key is None:
        alone = _key.rows(using, prefix=prefix)
        key = ApiKey.from_db(using, _KEY_ATTNAMES, alone[0]) if alone else None
    digest = key_digest(plaintext)  # computed even for unknown prefixes: same work either way
    if key is None or not hmac.compare_digest(key.digest, digest):
        raise KeyRejected("Invalid API Key")
    now = timezone.now()
    if not key.is_active:
        raise KeyRejected("API Key is inactive")
    if key.expires_at is not None and key.expires_at <= now:
        raise KeyRejected("API Key has expired")
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        # At most one write a minute per key; the condition keeps concurrent requests from
        # writing it twice.
        ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION),
            pk=key.pk,
        ).update(last_used_at=now)
        key.last_used_at = now
    return key, organization
