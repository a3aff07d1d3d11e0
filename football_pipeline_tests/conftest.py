"""Shared fixtures: the bundled data, a pinned 'today', and warehouses on every backend.

PostgreSQL (POSTGRES_TEST_URL, default 127.0.0.1:5432) and TimescaleDB (TIMESCALEDB_URL) tests get a
fresh database each and skip only when the server is unreachable, saying so; with
FOOTBALL_PIPELINE_REQUIRE_SERVERS=1 (CI) an unreachable server fails the test instead.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from football_pipeline.common.teams import Vocabulary
from football_pipeline.settings import BUNDLED_DATA_DIR
from football_pipeline.warehouse import engine as engines

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Saved FBref pages (shared/data/fbref-pages names) that are bundled under the spider's layout: tests read
# them there rather than from a second copy. Only pages the product does not bundle live in fixtures/fbref.
FBREF_PAGES = {
    "schedule_ESP-La_Liga_2324.html": "fbref/SP1/2023-2024/schedule.html",
    "schedule_FRA-Ligue_1_1920.html": "fbref/F1/2019-2020/schedule.html",
    "schedule_FRA-Ligue_1_2021.html": "fbref/F1/2020-2021/schedule.html",
    "schedule_ITA-Serie_A_2021.html": "fbref/I1/2020-2021/schedule.html",
    "match_e8867e6b.html": "fbref/SP1/2023-2024/matches/e8867e6b.html",
    "match_1d845950.html": "fbref/F1/2019-2020/matches/1d845950.html",
    "match_796787da.html": "fbref/F1/2020-2021/matches/796787da.html",
    "match_34e95e35.html": "fbref/I1/2020-2021/matches/34e95e35.html",
    "match_a3e10e13.html": "fbref/I1/2020-2021/matches/a3e10e13.html",
    "match_e0a20cfe.html": "fbref/I1/2020-2021/matches/e0a20cfe.html",
}


def fbref_page(name: str) -> bytes:
    """A saved FBref page by its saved name, bytes unchanged."""
    if name in FBREF_PAGES:
        return (BUNDLED_DATA_DIR / FBREF_PAGES[name]).read_bytes()
    return (FIXTURES / "fbref" / name).read_bytes()
TODAY = dt.date(2026, 11, 26)
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the developer's .state/ or real environment settings."""
    for name in ("WAREHOUSE_URL", "FOOTBALL_DATA_DIR", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "DAGSTER_HOME",
                 "FOOTBALL_PIPELINE_AS_OF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOOTBALL_PIPELINE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("FOOTBALL_PIPELINE_TODAY", TODAY.isoformat())


@pytest.fixture(scope="session")
def bundled() -> Path:
    return BUNDLED_DATA_DIR


@pytest.fixture(scope="session")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data directory in the bundled layout, for tests to put files in."""
    path = tmp_path / "data"
    (path / "football-data").mkdir(parents=True)
    (path / "understat").mkdir()
    return path


def copy_bundled(target: Path, *relative: str) -> None:
    """Copy bundled files (paths relative to the bundled data directory) into `target`."""
    for name in relative:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BUNDLED_DATA_DIR / name, destination)


def _server_or_skip(url: str, what: str) -> None:
    try:
        engine = engines.create_engine(url)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except sa.exc.OperationalError as error:
        message = f"{what} unreachable at {engines.redacted(url)}: {str(error).splitlines()[0]}"
        if os.environ.get("FOOTBALL_PIPELINE_REQUIRE_SERVERS") == "1":
            pytest.fail(message + " (FOOTBALL_PIPELINE_REQUIRE_SERVERS=1: servers are required)")
        pytest.skip(message)


def _fresh_database(server_url: str, what: str) -> Iterator[str]:
    _server_or_skip(server_url, what)
    name = f"fp_test_{uuid.uuid4().hex[:12]}"
    admin = engines.create_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %(name)s",
                {"name": name},
            )
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _fresh_database(os.environ.get("POSTGRES_TEST_URL", POSTGRES_DEFAULT), "PostgreSQL")


@pytest.fixture
def timescale_url() -> Iterator[str]:
    url = os.environ.get("TIMESCALEDB_URL")
    if not url:
        message = "TimescaleDB not configured: set TIMESCALEDB_URL (make test starts ../shared/tools/timescaledb-local)"
        if os.environ.get("FOOTBALL_PIPELINE_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    yield from _fresh_database(url, "TimescaleDB")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql", "timescaledb"])
def warehouse_url(request: pytest.FixtureRequest) -> str:
    """The same test on each of the three backends."""
    fixture = {"sqlite": "sqlite_url", "postgresql": "postgres_url", "timescaledb": "timescale_url"}
    return request.getfixturevalue(fixture[request.param])


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[sa.Engine]:
    engine = engines.create_engine(warehouse_url)
    yield engine
    engine.dispose()
