"""The settings of the proxy tests: production's, with the urlconf of tests/deploy/proxy_urls.py
(/slow and /echo besides the production URLs)."""

from hyperrep.settings import *  # noqa: F403

ROOT_URLCONF = "tests.deploy.proxy_urls"
