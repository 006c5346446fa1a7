"""Liveness and readiness probes, answered without an API key, and whatever the request's
Host (hyperrep/api/middleware.py)."""

from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hyperrep import migration_state, ratelimit


class Healthz(APIView):
    """The process is up."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class Readyz(APIView):
    """Ready for traffic: the database answers, every migration this release ships is applied
    (a new release's web takes no traffic before `migrate` ran), and Redis answers when
    REDIS_URL is set. Otherwise 503, each failing check's reason in `detail`."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        problems = [problem for problem in (database_problem(), redis_problem()) if problem]
        if problems:
            return Response({"detail": "; ".join(problems)}, status=503)
        return Response({"status": "ok"})


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        unapplied = migration_state.unapplied_migrations(connection)
    except DatabaseError:
        return "Database unavailable"
    return f"Migrations not applied: {migration_state.named(unapplied)}" if unapplied else None


def redis_problem() -> str | None:
    return None if ratelimit.check() else "Redis unavailable"
