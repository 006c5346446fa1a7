"""Benchmark data: 20 organizations and 200,000 contacts, 110,000 of them in one organization.

    SECRET_KEY=... DATABASE_URL=postgres://postgres@127.0.0.1:5432/hyperrep_bench \\
        DJANGO_SETTINGS_MODULE=bench.settings python -m bench.seed_contacts [--reset]

Contacts go in with COPY (the whole seed takes about 7 s on 2 cores), in random organization and
date order, as a multi-tenant table fills up: a page's rows are spread over the heap, not side
by side. The data is deterministic (fixed seed and dates). Seeding twice is harmless: the second
run only mints a new API key; `--reset` deletes the benchmark organizations first. The
organization id and the key go to stdout and to bench/results/seed.tmp.
"""

import argparse
import json
import os
import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import django

from hyperrep.ids import BASE62, MINTED_LENGTH

if TYPE_CHECKING:  # models import only once Django is set up
    from apps.organizations.models import Organization

RESULTS = Path(__file__).resolve().parent / "results"
NAME_PREFIX = "Bench org "
KEY_NAME = "bench"
ORGANIZATIONS = 20
CONTACTS = 200_000
LARGE = 110_000  # page 2,000 at limit 50 holds rows 99,951..100,000
COMPANIES_PER_ORGANIZATION = 50
# Fixed dates keep plans and pages the same from one run to the next.
NEWEST = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 365 * 86400
FIRST = ["Ava", "Ben", "Carla", "Diego", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas"]
LAST = ["Adams", "Brooks", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Khan"]
ROLES = ["Owner", "Office Manager", "Purchasing", "Operations", None]


@dataclass(frozen=True)
class Seeded:
    organization_id: str  # public id of the large organization
    api_key: str
    contacts: int


def seed(*, reset: bool = False, seed: int = 42) -> Seeded:
    from apps.keys.models import ApiKey
    from apps.keys.services import api_key_create
    from apps.organizations.models import Organization

    if reset:
        # "Bench " also takes the appendix's "Bench ties" of bench/contacts_list.py.
        Organization.objects.filter(name__startswith="Bench ").delete()
        ApiKey.objects.filter(name=KEY_NAME).delete()
    large = Organization.objects.filter(name=f"{NAME_PREFIX}00").first()
    if large is None:
        large = _create(random.Random(seed))
    _key, plaintext = api_key_create(organizations=[large], name=KEY_NAME)
    seeded = Seeded(large.public_id, plaintext, _count())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "seed.tmp").write_text(json.dumps(asdict(seeded)) + "\n")
    return seeded


def _create(rng: random.Random) -> "Organization":
    from django.db import connection, transaction

    from apps.companies.models import Company
    from apps.contacts.models import Contact
    from apps.organizations.models import Organization

    with transaction.atomic():
        organizations = Organization.objects.bulk_create(
            Organization(name=f"{NAME_PREFIX}{number:02d}", public_id=_id(rng, "org"))
            for number in range(ORGANIZATIONS)
        )
        companies = Company.objects.bulk_create(
            Company(
                organization=organization,
                public_id=_id(rng, "cmp"),
                name=f"{rng.choice(LAST)} & Co {number}",
                created_at=NEWEST - timedelta(days=400 + number),
            )
            for organization in organizations
            for number in range(COMPANIES_PER_ORGANIZATION)
        )
        by_organization: dict[int, list[int]] = {}
        for company in companies:
            by_organization.setdefault(company.organization_id, []).append(company.pk)
        # The large organization, then the rest spread evenly over the other 19; shuffled.
        owners = [organizations[0].pk] * LARGE + [
            organizations[1 + n % (ORGANIZATIONS - 1)].pk for n in range(CONTACTS - LARGE)
        ]
        rng.shuffle(owners)
        column = {f.name: f.column for f in Contact._meta.concrete_fields if f.column}
        columns = ", ".join(column[name] for name in _CONTACT_COLUMNS)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {Contact._meta.db_table} ({columns}) FROM STDIN") as copy,
        ):
            for number, owner in enumerate(owners):
                copy.write_row(_contact(rng, number, owner, by_organization[owner]))
    with connection.cursor() as cursor:
        # What autovacuum would have done by then: statistics and the visibility map.
        cursor.execute(f"VACUUM (ANALYZE) {Contact._meta.db_table}, {Company._meta.db_table}")
    return organizations[0]


_CONTACT_COLUMNS = (
    "organization",
    "public_id",
    "name",
    "email",
    "phone_number",
    "company",
    "company_role",
    "custom_fields",
    "created_at",
)


def _contact(rng: random.Random, number: int, organization: int, companies: list[int]) -> tuple:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rng.choice(companies) if rng.random() < 0.8 else None
    # Whole seconds (ties on created_at, broken by id) and microseconds, as imports and
    # API writes give.
    created_at = NEWEST - timedelta(
        seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.choice((0, rng.randrange(10**6)))
    )
    return (
        organization,
        _id(rng, "ctc"),
        f"{first} {last}",
        f"{first}.{last}{number}@example.com".lower(),
        f"+1555{rng.randrange(10**7):07d}",
        company,
        rng.choice(ROLES) if company else None,
        json.dumps({"source": rng.choice(["web", "referral", "event"]), "score": number % 100}),
        created_at,
    )


def _id(rng: random.Random, prefix: str) -> str:
    # The minted shape, from a seeded generator instead of `secrets` (reproducible and ~10x
    # faster for 200k ids).
    return f"{prefix}_" + "".join(rng.choices(BASE62, k=MINTED_LENGTH))


def _count() -> int:
    from apps.contacts.models import Contact

    return Contact.objects.unscoped().filter(organization__name__startswith=NAME_PREFIX).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reset", action="store_true", help="delete the benchmark data first")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    seeded = seed(reset=args.reset)
    print(json.dumps(asdict(seeded)))


if __name__ == "__main__":
    main()
