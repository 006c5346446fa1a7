"""The settings of the gunicorn tests: production's, with the urlconf of tests/deploy/slow_urls.py
(one more view, /slow)."""

from hyperrep.settings import *  # noqa: F403

ROOT_URLCONF = "tests.deploy.slow_urls"
