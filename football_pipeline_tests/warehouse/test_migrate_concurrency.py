"""Two first loads at once: concurrent `migrate.upgrade` calls on one new database both succeed.

Without serialisation, two upgrades of an empty PostgreSQL database race in the idempotent DDL
(`UniqueViolation ... pg_type_typname_nsp_index`): the second must wait and find the schema current.
Each worker is a separate process (spawn), released at the same moment by a barrier.
"""

from __future__ import annotations

import multiprocessing
import traceback

import pytest
import sqlalchemy as sa

from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import migrate

WORKERS = 2


def _upgrade(url: str, barrier, results) -> None:
    try:
        engine = engines.create_engine(url)
        with engine.connect() as connection:  # connected before the start, so both begin together
            connection.execute(sa.text("SELECT 1"))
        barrier.wait(timeout=120)
        results.put(("ok", migrate.upgrade(engine)))
        engine.dispose()
    except BaseException:  # noqa: BLE001 - reported to the parent, whatever it is
        results.put(("error", traceback.format_exc()))


def upgrade_concurrently(url: str, workers: int = WORKERS) -> list[tuple[str, str | None]]:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(workers), context.Queue()
    processes = [context.Process(target=_upgrade, args=(url, barrier, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=300) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    return outcomes


def _assert_all_at_head(url: str, outcomes: list[tuple[str, str | None]]) -> None:
    errors = [detail for status, detail in outcomes if status != "ok"]
    assert not errors, "concurrent upgrade failed:\n" + "\n".join(errors)
    assert [detail for _, detail in outcomes] == [migrate.head()] * WORKERS
    engine = engines.create_engine(url)
    try:
        with engine.connect() as connection:
            assert migrate.current(connection) == migrate.head()
        assert migrate.upgrade(engine) == migrate.head()  # and a later upgrade still finds it current
    finally:
        engine.dispose()


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_first_upgrades_of_postgres_both_succeed(postgres_url, attempt):
    _assert_all_at_head(postgres_url, upgrade_concurrently(postgres_url))


@pytest.mark.parametrize("attempt", range(2))
def test_concurrent_first_upgrades_of_timescaledb_both_succeed(timescale_url, attempt):
    _assert_all_at_head(timescale_url, upgrade_concurrently(timescale_url))


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_first_upgrades_of_one_new_sqlite_file_both_succeed(tmp_path, attempt):
    url = f"sqlite:///{tmp_path / 'new' / 'warehouse.sqlite'}"
    _assert_all_at_head(url, upgrade_concurrently(url))


def test_upgrade_releases_the_migration_lock(postgres_url):
    """The advisory lock is held only for the upgrade: another session can take it afterwards."""
    engine = engines.create_engine(postgres_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            held = connection.execute(
                sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())")
            ).scalar_one()
            assert held == 0
            assert connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"),
                                      {"key": migrate.MIGRATION_LOCK_KEY}).scalar_one() is True
            connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": migrate.MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()
