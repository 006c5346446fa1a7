from django.db.models import QuerySet

from apps.keys.models import ApiKey
from apps.organizations.models import Organization
from hyperrep import ids
from hyperrep.errors import NotFound


def organization_list(*, api_key: ApiKey) -> QuerySet[Organization]:
    """The active organizations the key can reach, by name."""
    return Organization.objects.filter(api_keys=api_key, is_active=True).order_by("name", "id")


def organization_get(*, api_key: ApiKey, organization_id: str) -> Organization:
    """The organization, if the key can reach it. One that exists but is out of reach, or
    inactive, is the same 404 as one that does not exist: a key learns nothing of others."""
    public_id = ids.check(organization_id, prefix="org", name="organization_id")
    organization = organization_list(api_key=api_key).filter(public_id=public_id).first()
    if organization is None:
        raise NotFound("Organization not found")
    return organization
