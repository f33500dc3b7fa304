"""Segment fixtures: the scenario warehouse and a migrated app database."""

from __future__ import annotations

import pytest
from ibis.backends import BaseBackend

from tests.appdb_fixtures import app_engine, app_session, app_settings, now

from .scenario import build

__all__ = ["app_engine", "app_session", "app_settings", "now"]


@pytest.fixture
def scenario(warehouse: BaseBackend) -> BaseBackend:
    """The warehouse with the scenario of :mod:`tests.segments.scenario`."""
    build(warehouse)
    return warehouse
