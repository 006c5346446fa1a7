import time
from collections.abc import Callable
from typing import Any

import limits.storage.memory
import pytest

from apps.keys.services import api_key_create
from apps.organizations.models import Organization
from hyperrep import ratelimit
from tests.factories import OrganizationFactory
from tests.helpers import Api


class _ClockFromAMinutesStart:
    """The time limits' memory store reads, as if the test began 1 s into a minute: its
    windows are the clock's minutes, and a test's hits straddling one's end would see the
    sliding window's estimate round down (3 hits weighted 0.99 count as 2) and one more
    allowed than the test asserts."""

    def __init__(self) -> None:
        self.offset = 61 - time.time() % 60

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture(autouse=True)
def _fresh_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with full budgets (the counters live in this process's memory)."""
    ratelimit._limiter.cache_clear()
    monkeypatch.setattr(limits.storage.memory, "time", _ClockFromAMinutesStart())


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
