"""The web server's application (gunicorn: deploy/gunicorn.conf.py). Only web processes load
this module, so what is set here bounds requests, not migrations, imports from the command
line or the worker: on PostgreSQL each connection of a web process starts with
DATABASE_STATEMENT_TIMEOUT (a startup parameter: no query of its own), and a query past it
fails (the request's JSON 500) instead of holding a thread."""

import os
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperrep.settings")


def bound_statements(databases: dict[str, Any], seconds: int) -> None:
    """Give each PostgreSQL database's connections a statement timeout of `seconds` (0: none).
    (With PgBouncer in transaction mode, set it on the role instead: the README.)"""
    if not seconds:
        return
    for database in databases.values():
        if database["ENGINE"] == "django.db.backends.postgresql":
            options = database.setdefault("OPTIONS", {})
            given = options.get("options", "")
            options["options"] = f"{given} -c statement_timeout={seconds}s".strip()


def _bound() -> None:
    from django.conf import settings

    bound_statements(settings.DATABASES, settings.DATABASE_STATEMENT_TIMEOUT)


_bound()
application = get_wsgi_application()
