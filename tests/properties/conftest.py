"""Pairs of fresh databases on one engine: each property example applies one stream to both."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import new_postgres_database, truncate_all

Pair = Callable[[], tuple[str, str]]


@pytest.fixture(scope="session")
def _postgres_second_database(_postgres_database: str) -> Iterator[str]:
    """A second migrated PostgreSQL database beside the session's (the `db_url` one)."""
    with new_postgres_database() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    """A function returning two migrated, empty databases (fresh SQLite files, or emptied PostgreSQL ones).

    Module-scoped because hypothesis runs many examples in one test call: every call gives new ones.
    """
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        folder = tmp_path_factory.mktemp("pairs")
        count = iter(range(1_000_000))

        def sqlite_pair() -> tuple[str, str]:
            n = next(count)
            urls = []
            for side in ("a", "b"):
                path = folder / f"{n}-{side}.db"
                shutil.copy(template, path)
                urls.append(f"sqlite:///{path}")
            return urls[0], urls[1]

        return sqlite_pair
    urls = request.getfixturevalue("_postgres_database"), request.getfixturevalue("_postgres_second_database")

    def postgres_pair() -> tuple[str, str]:
        for url in urls:
            truncate_all(url)
        return urls

    return postgres_pair
