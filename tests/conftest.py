from collections.abc import Callable
from typing import Any

import pytest

from apps.keys.services import api_key_create
from apps.organizations.models import Organization
from hyperrep import ratelimit
from tests.factories import OrganizationFactory
from tests.helpers import Api


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Each test starts with full budgets (the counters live in this process's memory)."""
    ratelimit._limiter.cache_clear()


@pytest.fixture
def organization(db: None) -> Organization:
    return OrganizationFactory.create(name="Acme Roofing")


@pytest.fixture
def other_organization(db: None) -> Organization:
    return OrganizationFactory.create(name="Zenith Plumbing")


@pytest.fixture
def make_key(db: None) -> Callable[..., str]:
    def make(*organizations: Organization, **options: Any) -> str:
        return api_key_create(organizations=organizations, **options)[1]

    return make


@pytest.fixture
def api_key(make_key: Callable[..., str], organization: Organization) -> str:
    return make_key(organization, name="test")


@pytest.fixture
def api(api_key: str) -> Api:
    return Api(api_key)


@pytest.fixture
def org_path(organization: Organization) -> str:
    return f"/organizations/{organization.public_id}"
