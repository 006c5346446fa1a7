import io
import json
from pathlib import Path
from typing import Any

from django.core.management import call_command

FIXTURE = Path(__file__).parent / "fixtures" / "acme.jsonl"
ORG_ID = "org_7Yq2LmN4pR8sT1vW3xZ5bC"


def fixture_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def dumps(line: dict[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def write_lines(path: Path, lines: list[dict[str, Any]] | list[str]) -> Path:
    text = "".join((line if isinstance(line, str) else dumps(line)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


def import_file(path: Path | str) -> str:
    out = io.StringIO()
    call_command("import_data", str(path), stdout=out)
    return out.getvalue()


def export_bytes(tmp_path: Path, organization_id: str = ORG_ID) -> bytes:
    target = tmp_path / "export.jsonl"
    call_command("export_data", "--organization", organization_id, "-o", str(target))
    return target.read_bytes()
