"""Prometheus metrics read from the warehouse: values per backend, a dead warehouse, the HTTP endpoint."""

from __future__ import annotations

import datetime as dt
import urllib.request
from collections import Counter

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from football_pipeline.serving import metrics
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import migrate, schema
from football_pipeline_tests.serving import data

NOW = data.AS_OF + dt.timedelta(hours=6)


def _fill(engine: sa.Engine) -> None:
    migrate.upgrade(engine)
    with engine.begin() as connection:
        data.populate(connection)
        mp = schema.model_performance
        # the second January evaluation of dixon_coles on E0 ran last, after February's
        for start, when in ((dt.date(2025, 1, 1), data.at(2, 9, month=2)), (dt.date(2025, 1, 16), data.at(1, 3)),
                            (dt.date(2025, 2, 1), data.at(1, 1))):
            connection.execute(mp.update().where(mp.c.model_name == "dixon_coles", mp.c.competition_id == "E0",
                                                 mp.c.period_start == start).values(evaluated_at=when))
        connection.execute(schema.publish_log.insert(), [
            {"model_name": model, "model_version": "1", "competition_id": "E0", "started_at": data.at(1, 5),
             "finished_at": data.at(1, 5), "duration_seconds": seconds, "fixtures": 10, "rows_written": 10,
             "replaced": 0, "skipped": 0}
            for model, seconds in (("dixon_coles", 0.8), ("dixon_coles", 4.0), ("dixon_coles", 45.0),
                                   ("xgboost", 1.5))])
        connection.execute(schema.raw_files.insert(), [
            {"sha256": c * 64, "size_bytes": 1, "content": b"x"} for c in "abc"])
        connection.execute(schema.source_files.insert(), [
            {"source": source, "competition_id": competition, "season": "2024-2025", "path": f"{source}/{competition}",
             "sha256": sha * 64, "fingerprint": "f" * 64, "status": status, "rows_loaded": 10, "rows_quarantined": 0,
             "checked_at": checked}
            for source, competition, sha, status, checked in (
                ("football-data", "E0", "a", "loaded", data.at(1, 2)),
                ("football-data", "SP1", "b", "loaded", data.at(28, 20, month=2)),
                ("understat", "E0", "c", "blocked", data.at(27, 8, month=2)),
            )
        ])


def _collect(engine: sa.Engine) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(metrics.WarehouseCollector(engine, clock=NOW.timestamp))
    return registry


def test_metrics_read_the_warehouse(warehouse):
    _fill(warehouse)
    registry = _collect(warehouse)
    value = registry.get_sample_value
    assert value("football_warehouse_up") == 1

    rows = data.predictions_rows()
    expected = Counter((r["competition_id"], r["model_name"]) for r in rows)
    future = Counter((r["competition_id"], r["model_name"]) for r in rows if r["kickoff_at"] > NOW)
    assert expected[("E0", "dixon_coles")] == 13 and future[("E0", "dixon_coles")] == 12
    for (competition, model), count in expected.items():
        labels = {"competition_id": competition, "model_name": model}
        assert value("football_predictions", labels) == count
        assert value("football_predictions_upcoming", labels) == future[(competition, model)]
    assert value("football_predictions", {"competition_id": "SP1", "model_name": "xgboost"}) is None

    newest = {"dixon_coles": data.at(1, 6), "xgboost": data.at(1, 7)}
    for model, at in newest.items():
        assert value("football_predictions_last_published_timestamp_seconds", {"model_name": model}) == at.timestamp()
        assert value("football_predictions_age_seconds", {"model_name": model}) == (NOW - at).total_seconds()

    january = {"model_name": "dixon_coles", "model_version": "1", "competition_id": "E0"}
    assert value("football_model_rps", january) == 0.22  # the latest evaluation, not the highest id
    assert value("football_model_accuracy", january) == 0.46
    assert value("football_market_rps", january) == 0.20
    assert abs(value("football_model_rps_edge", january) - (0.20 - 0.22)) < 1e-12
    assert value("football_model_evaluated_matches", january) == 150
    assert value("football_model_evaluated_timestamp_seconds", january) == data.at(1, 3).timestamp()
    spain = {"model_name": "dixon_coles", "model_version": "1", "competition_id": "SP1"}
    assert value("football_model_rps", spain) == 0.19
    assert value("football_model_rps", {"model_name": "xgboost", "model_version": "7", "competition_id": "E0"}) == 0.21
    rps_series = [s for m in registry.collect() if m.name == "football_model_rps" for s in m.samples]
    assert len(rps_series) == 3  # one per model and competition

    assert value("football_source_last_checked_timestamp_seconds", {"source": "football-data"}) == data.at(1, 2).timestamp()
    assert value("football_source_age_seconds", {"source": "football-data"}) == 4 * 3600
    assert value("football_source_age_seconds", {"source": "understat"}) == (NOW - data.at(27, 8, month=2)).total_seconds()
    assert value("football_source_files", {"source": "football-data", "status": "loaded"}) == 2
    assert value("football_source_files", {"source": "understat", "status": "blocked"}) == 1
    assert value("football_warehouse_scrape_duration_seconds") > 0

    # Publish latency, from publish_log: a cumulative histogram per model.
    dc = {"model_name": "dixon_coles"}
    assert value("football_publish_duration_seconds_count", dc) == 3
    assert abs(value("football_publish_duration_seconds_sum", dc) - 49.8) < 1e-9
    assert value("football_publish_duration_seconds_bucket", {**dc, "le": "1.0"}) == 1
    assert value("football_publish_duration_seconds_bucket", {**dc, "le": "5.0"}) == 2
    assert value("football_publish_duration_seconds_bucket", {**dc, "le": "30.0"}) == 2
    assert value("football_publish_duration_seconds_bucket", {**dc, "le": "60.0"}) == 3
    assert value("football_publish_duration_seconds_bucket", {**dc, "le": "+Inf"}) == 3
    assert value("football_publish_duration_seconds_count", {"model_name": "xgboost"}) == 1


def test_empty_warehouse_reports_zero_series_and_up(sqlite_url):
    engine = engines.create_engine(sqlite_url)
    migrate.upgrade(engine)
    registry = _collect(engine)
    assert registry.get_sample_value("football_warehouse_up") == 1
    names = {s.name for m in registry.collect() for s in m.samples}
    assert names == {"football_warehouse_up", "football_warehouse_scrape_duration_seconds"}


def test_unreachable_or_unmigrated_warehouse_gives_up_zero_not_a_failed_scrape(tmp_path):
    engine = engines.create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")  # no tables
    registry = _collect(engine)
    assert registry.get_sample_value("football_warehouse_up") == 0
    assert registry.get_sample_value("football_predictions", {"competition_id": "E0", "model_name": "x"}) is None
    dead = engines.create_engine("postgresql://nobody@127.0.0.1:1/none")
    assert _collect(dead).get_sample_value("football_warehouse_up") == 0


def test_http_endpoint_serves_the_metrics(sqlite_url):
    _fill(engines.create_engine(sqlite_url))
    server, thread = metrics.start(0, sqlite_url, addr="127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = response.read().decode()
    finally:
        server.shutdown()
        thread.join(timeout=5)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["football_warehouse_up"].samples[0].value == 1
    samples = {tuple(sorted(s.labels.items())): s.value for s in families["football_predictions"].samples}
    assert samples[(("competition_id", "E0"), ("model_name", "dixon_coles"))] == 13
    published = families["football_predictions_last_published_timestamp_seconds"].samples
    assert {s.labels["model_name"]: s.value for s in published}["xgboost"] == data.at(1, 7).timestamp()
    assert "football_source_age_seconds" in families and "football_model_rps" in families
