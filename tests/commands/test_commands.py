import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.keys.models import ApiKey
from apps.organizations.models import Organization
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_organization_prints_its_id_alone() -> None:
    output = run("create_organization", "Acme Roofing")
    organization = Organization.objects.get()
    assert output == f"{organization.public_id}\n"
    assert organization.name == "Acme Roofing"
    assert organization.is_active


def test_create_api_key_prints_a_working_key_alone() -> None:
    first = run("create_organization", "B Org").strip()
    second = run("create_organization", "A Org").strip()
    key = run(
        "create_api_key", "--organization", first, "--organization", second, "--name", "ci"
    ).strip()
    assert key.startswith("hrk_")
    assert "\n" not in key
    names = [row["name"] for row in Api(key).get("/organizations").json()["data"]]
    assert names == ["A Org", "B Org"]
    assert ApiKey.objects.get().name == "ci"


def test_create_api_key_options() -> None:
    org = run("create_organization", "Acme").strip()
    expired = run(
        "create_api_key", "--organization", org, "--expires-at", "2020-01-01T00:00:00Z"
    ).strip()
    assert detail(Api(expired).get("/organizations")) == "API Key has expired"
    assert ApiKey.objects.get(prefix=expired[4:12]).expires_at == datetime(2020, 1, 1, tzinfo=UTC)

    read_only = run("create_api_key", "--organization", org, "--read-only").strip()
    response = Api(read_only).post(f"/organizations/{org}/contacts", {"name": "A"})
    assert detail(response) == "API Key does not have write access"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--organization", "org_3hG5kq2mN8pQ4rS6tU7vW9"], "No such organization"),
        (["--organization", "{org}", "--expires-at", "soon"], "--expires-at"),
    ],
)
def test_create_api_key_errors(args: list[str], message: str) -> None:
    org = run("create_organization", "Acme").strip()
    with pytest.raises(CommandError, match=message):
        run("create_api_key", *[a.format(org=org) for a in args])
    assert not ApiKey.objects.exists()


def test_revoke_api_key() -> None:
    org = run("create_organization", "Acme").strip()
    key = run("create_api_key", "--organization", org).strip()
    assert Api(key).get("/organizations").status_code == 200
    run("revoke_api_key", key[:12])
    assert detail(Api(key).get("/organizations")) == "API Key is inactive"
    with pytest.raises(CommandError, match="No API key matches"):
        run("revoke_api_key", "hrk_nosuchpf")


def test_seed_demo_prints_its_key_last_and_seeds_once(tmp_path: Path) -> None:
    key_file = tmp_path / "demo-key"
    output = run("seed_demo", "--key-file", str(key_file), "--contacts", "30")
    key = output.splitlines()[-1]
    assert key_file.read_text().strip() == key
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    organization = Organization.objects.get()
    assert Agent.objects.for_org(organization).count() == 5
    assert Company.objects.for_org(organization).count() == 20
    assert Contact.objects.for_org(organization).count() == 30

    data = Api(key).get(f"/organizations/{organization.public_id}/contacts").json()["data"]
    assert len(data) == 30
    again = run("seed_demo", "--key-file", str(key_file)).strip().splitlines()
    assert again[0] == f"{organization.name} ({organization.public_id}) is seeded"
    assert [line.split(":")[0] for line in again[1:-1]] == [
        "inbound email",
        "inbound form",
        "inbound text",
    ]
    assert again[-1] == key
    assert Organization.objects.count() == 1

    key_file.write_text("hrk_stale\n")  # a key that no longer works: seed again
    run("seed_demo", "--key-file", str(key_file))
    assert Organization.objects.count() == 2


def test_settings_refuse_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
