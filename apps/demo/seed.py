"""A realistic demo organization: agents, companies and contacts (conversations, messages
and sales come with their apps). Deterministic for a given seed; bulk inserts so that it
scales to the sizes benchmarks need."""

import random
from datetime import datetime, timedelta
from itertools import islice

from django.db import transaction
from django.utils import timezone

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.keys.services import api_key_create
from apps.organizations.models import Organization
from hyperrep.api import ids

FIRST = [
    "Ava",
    "Ben",
    "Carla",
    "Diego",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
]
LAST = [
    "Adams",
    "Brooks",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ivanova",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Rossi",
    "Silva",
]
TRADES = [
    "Roofing",
    "Plumbing",
    "Landscaping",
    "Dental",
    "Bakery",
    "Auto Repair",
    "Fitness",
    "Cleaning",
    "Electric",
    "Catering",
    "Law Office",
    "Realty",
]
ROLES = ["Owner", "Office Manager", "Purchasing", "Operations", "Founder", None]
BATCH = 5000


def seed_demo(
    *,
    name: str = "Acme Roofing (demo)",
    agents: int = 5,
    companies: int = 20,
    contacts: int = 200,
    seed: int = 7,
) -> tuple[Organization, str]:
    """Create one demo organization and an API key for it; returns both (key in plaintext)."""
    rng = random.Random(seed)
    now = timezone.now()
    with transaction.atomic():
        organization = Organization.objects.create(name=name)
        agent_rows = Agent.objects.bulk_create(
            Agent(
                organization=organization,
                public_id=ids.mint("agt"),
                name=f"{first} {rng.choice(LAST)}",
                email=f"{first.lower()}@{_slug(name)}.example",
                created_at=now - timedelta(days=400),
            )
            for first in rng.sample(FIRST, k=min(agents, len(FIRST)))
        )
        company_rows = Company.objects.bulk_create(
            Company(
                organization=organization,
                public_id=ids.mint("cmp"),
                name=f"{rng.choice(LAST)} {rng.choice(TRADES)}",
                domain=f"company{number}.example.com",
                address=f"{rng.randint(1, 999)} Main Street, Springfield",
                custom_fields={"segment": rng.choice(["smb", "mid-market"])},
                agent=rng.choice(agent_rows) if agent_rows else None,
                created_at=now - timedelta(days=365, seconds=number * 3600),
            )
            for number in range(companies)
        )
        rows = (
            _contact(rng, organization, company_rows, number, now) for number in range(contacts)
        )
        while batch := list(islice(rows, BATCH)):
            Contact.objects.bulk_create(batch)
        _key, plaintext = api_key_create(organizations=[organization], name="demo")
    return organization, plaintext


def _contact(
    rng: random.Random,
    organization: Organization,
    companies: list[Company],
    number: int,
    now: datetime,
) -> Contact:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rng.choice(companies) if companies and rng.random() < 0.8 else None
    return Contact(
        organization=organization,
        public_id=ids.mint("ctc"),
        name=f"{first} {last}",
        email=f"{first}.{last}{number}@example.com".lower(),
        phone_number=f"+1555{rng.randint(0, 9999999):07d}",
        company=company,
        company_role=rng.choice(ROLES) if company else None,
        custom_fields={"source": rng.choice(["web", "referral", "event"])},
        created_at=now - timedelta(seconds=rng.randint(0, 365 * 86400)),
    )


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())[:20]
