"""Benchmark settings: the production settings, plus the floor route of bench/urls.py, and a
budget no benchmark's one key exhausts (the requests are still counted; API_RATE_LIMIT in
the environment wins, e.g. bench/budgets.py's servers)."""

from hyperrep.settings import *  # noqa: F403
from hyperrep.settings import env_rate

ROOT_URLCONF = "bench.urls"
API_RATE_LIMIT = env_rate("API_RATE_LIMIT", "100000000/minute")
