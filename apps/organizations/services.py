from apps.organizations.models import Organization


def organization_create(*, name: str) -> Organization:
    return Organization.objects.create(name=name)
