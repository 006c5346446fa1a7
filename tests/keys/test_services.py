import re

import pytest

from apps.keys.models import ApiKey
from apps.keys.services import (
    KeyRejected,
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    key_digest,
)
from apps.organizations.models import Organization

pytestmark = pytest.mark.django_db


def test_keys_are_stored_only_as_prefix_and_hmac(organization: Organization) -> None:
    key, plaintext = api_key_create(organizations=[organization], name="ci")
    assert re.fullmatch(r"hrk_[A-Za-z0-9]{8}_[A-Za-z0-9]{43}", plaintext)
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.prefix == plaintext[4:12]
    assert stored.digest == key_digest(plaintext) != plaintext
    assert plaintext[13:] not in str(
        ApiKey.objects.filter(pk=key.pk).values().first()
    )  # the secret is nowhere in the row


def test_the_digest_is_keyed_by_the_server_secret(settings: object) -> None:
    before = key_digest("hrk_AAAAAAAA_" + "b" * 43)
    settings.API_KEY_SECRET = "another-secret"  # type: ignore[attr-defined]
    assert key_digest("hrk_AAAAAAAA_" + "b" * 43) != before


def test_revoke_by_prefix_or_key(organization: Organization) -> None:
    key, plaintext = api_key_create(organizations=[organization])
    api_key_revoke(key_or_prefix=f"hrk_{key.prefix}")
    with pytest.raises(KeyRejected, match="API Key is inactive"):
        api_key_authenticate(plaintext)

    other, other_plaintext = api_key_create(organizations=[organization])
    api_key_revoke(key_or_prefix=other_plaintext)
    other.refresh_from_db()
    assert other.is_active is False


def test_revoking_with_a_wrong_secret_changes_nothing(organization: Organization) -> None:
    key, plaintext = api_key_create(organizations=[organization])
    with pytest.raises(ApiKey.DoesNotExist):
        api_key_revoke(key_or_prefix=plaintext[:-3] + "xyz")
    key.refresh_from_db()
    assert key.is_active is True
