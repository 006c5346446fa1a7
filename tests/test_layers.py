"""How the code is layered, read from its imports: the domain (models, services, selectors
and the core of hyperrep/) speaks no HTTP, no module imports itself in a circle, and
migrations run only code that is frozen for them."""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTTP = ("rest_framework", "django_filters", "drf_spectacular", "hyperrep.api")
CORE = ["hyperrep/errors.py", "hyperrep/ids.py", "hyperrep/jsonb.py", "hyperrep/frozen.py"]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """The modules a file imports, anywhere in it (an import inside a function only defers
    a cycle); `from a.b import c` gives a.b and a.b.c."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def first_party() -> list[Path]:
    return [
        path
        for top in ("apps", "hyperrep")
        for path in sorted((ROOT / top).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def domain_modules() -> list[Path]:
    paths = [ROOT / name for name in CORE] + sorted((ROOT / "hyperrep/tenancy").glob("*.py"))
    for layer in ("models", "services", "selectors"):
        paths += sorted(ROOT.glob(f"apps/*/{layer}.py"))
    return paths


def test_the_domain_speaks_no_http() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in imports(path) if name.startswith(HTTP))
        for path in domain_modules()
    }
    assert len(offenders) > 25
    assert {path: names for path, names in offenders.items() if names} == {}


def test_no_module_imports_itself_through_others() -> None:
    known = {module_name(path): path for path in first_party()}
    graph = {
        name: {imported for imported in imports(path) if imported in known and imported != name}
        for name, path in known.items()
    }
    cycles = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for imported in sorted(graph[name]):
            if state.get(imported) == "open":
                cycles.append([*trail[trail.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*trail, imported])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_migrations_run_no_live_application_code() -> None:
    migrations = sorted(ROOT.glob("apps/*/migrations/0*.py"))
    assert len(migrations) >= 15
    # Field classes, validators and defaults that fields name: Django imports them to build
    # the historical models, and never runs them in a migration.
    allowed = {
        "hyperrep.ids",
        "hyperrep.ids.PublicIdField",
        "hyperrep.phones",
        "hyperrep.frozen",
        "hyperrep.logs",  # enqueuing_request_id, the default of an outbox row's request id
        "apps.organizations.models",  # mint_inbound_token, the channel token's default
        "apps.drafts.models",  # mint_message_id, the default of a draft's message id
    }
    for path in migrations:
        live = [
            name
            for name in imports(path)
            if name.startswith(("apps", "hyperrep"))
            and name not in allowed
            and not name.startswith("hyperrep.frozen.")
        ]
        assert live == [], path.relative_to(ROOT)
