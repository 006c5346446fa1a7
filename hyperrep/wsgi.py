"""The web server's application (gunicorn: deploy/gunicorn.conf.py). Only web processes load
this module, so what is set here bounds requests, not migrations, imports from the command
line or the worker: on PostgreSQL each connection of a web process gets DATABASE_STATEMENT_
TIMEOUT, and a query past it fails (the request's JSON 500) instead of holding a thread."""

import os
from typing import Any

from django.core.wsgi import get_wsgi_application
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperrep.settings")

application = get_wsgi_application()


def bound_statements(sender: object, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    from django.conf import settings

    if connection.vendor == "postgresql" and settings.DATABASE_STATEMENT_TIMEOUT:
        with connection.cursor() as cursor:
            # A session setting: with PgBouncer in transaction mode, set it on the role
            # instead (ALTER ROLE … SET statement_timeout), see the README.
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, false)",
                [f"{settings.DATABASE_STATEMENT_TIMEOUT}s"],
            )


connection_created.connect(bound_statements)
