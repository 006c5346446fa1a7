from apps.organizations.models import Organization
from apps.webhooks.models import Delivery, Endpoint
from hyperrep.tenancy.models import TenantQuerySet


def endpoint_list(*, organization: Organization) -> TenantQuerySet:
    return Endpoint.objects.for_org(organization)


def delivery_list(*, organization: Organization) -> TenantQuerySet:
    return Delivery.objects.for_org(organization)
