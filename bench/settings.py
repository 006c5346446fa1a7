"""Benchmark settings: the production settings unchanged, plus the floor route of bench/urls.py."""

from hyperrep.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
