"""Prometheus metrics read from the warehouse on every scrape.

A custom collector (prometheus_client's documented way to expose values owned by another system):
each scrape runs a few aggregate queries against the warehouse, so the numbers are the warehouse's
own, whichever process wrote them, and nothing is kept in memory between scrapes.

    football_predictions{competition_id, model_name}                     rows in predictions
    football_predictions_upcoming{competition_id, model_name}            of which kick off after now
    football_predictions_last_published_timestamp_seconds{model_name}    newest predicted_at
    football_predictions_age_seconds{model_name}                         now minus that: publish lag
    football_publish_duration_seconds{model_name} (histogram)            how long each publish took (publish_log)
    football_model_{accuracy,rps,log_loss,brier,ece}{model_name, model_version, competition_id}
    football_market_rps{...}, football_model_rps_edge{...}               the same evaluation's market
    football_model_evaluated_matches{...}, football_model_evaluated_timestamp_seconds{...}
                                                   from each model's latest model_performance row per competition
    football_source_last_checked_timestamp_seconds{source}              newest source_files check
    football_source_age_seconds{source}                                  data freshness
    football_source_files{source, status}                                files per load status
    football_warehouse_up                                                1 if the warehouse answered
    football_warehouse_scrape_duration_seconds                           time the queries took

Served by `serve(port, warehouse_url)` (or `python -m football_pipeline.serving.metrics --port 9108`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from prometheus_client import start_http_server
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from football_pipeline import settings
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import schema

log = logging.getLogger(__name__)

DEFAULT_PORT = 9108
EVALUATION_METRICS = {
    "accuracy": "share of matches whose most likely outcome happened",
    "rps": "ranked probability score (lower is better)",
    "log_loss": "logarithmic loss (lower is better)",
    "brier": "Brier score (lower is better)",
    "ece": "expected calibration error",
}


def _epoch(value: dt.datetime | None) -> float | None:
    """Seconds since the epoch; naive timestamps (SQLite) are UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


class WarehouseCollector(Collector):
    """Reads the warehouse when Prometheus scrapes. A warehouse that does not answer gives
    football_warehouse_up 0 (and the error in the log), not a failed scrape."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.clock = clock

    def describe(self) -> list:
        return []  # collected on demand: registering must not query the warehouse

    def collect(self) -> Iterator[GaugeMetricFamily]:
        started = time.perf_counter()
        up = GaugeMetricFamily("football_warehouse_up", "1 if the warehouse answered this scrape")
        try:
            families = list(self._families())
        except sa.exc.SQLAlchemyError as error:
            log.error("metrics: warehouse query failed: %s", str(error).splitlines()[0])
            up.add_metric([], 0)
            families = []
        else:
            up.add_metric([], 1)
        yield up
        yield from families
        duration = GaugeMetricFamily("football_warehouse_scrape_duration_seconds",
                                     "seconds the warehouse queries of this scrape took")
        duration.add_metric([], time.perf_counter() - started)
        yield duration

    def _families(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock()
        now_dt = dt.datetime.fromtimestamp(now, dt.timezone.utc)
        p, mp, sf = schema.predictions, schema.model_performance, schema.source_files
        with self.engine.connect() as connection:
            counts = connection.execute(
                sa.select(p.c.competition_id, p.c.model_name, sa.func.count(),
                          sa.func.sum(sa.case((p.c.kickoff_at > now_dt, 1), else_=0)))
                .group_by(p.c.competition_id, p.c.model_name)
                .order_by(p.c.competition_id, p.c.model_name)
            ).all()
            published = connection.execute(
                sa.select(p.c.model_name, sa.func.max(p.c.predicted_at)).group_by(p.c.model_name)
                .order_by(p.c.model_name)
            ).all()
            # each model's latest evaluation per competition: newest evaluated_at, then highest id
            newer = mp.alias("newer")
            latest = connection.execute(
                sa.select(mp).where(~sa.exists().where(
                    newer.c.model_name == mp.c.model_name,
                    newer.c.competition_id == mp.c.competition_id,
                    sa.or_(newer.c.evaluated_at > mp.c.evaluated_at,
                           sa.and_(newer.c.evaluated_at == mp.c.evaluated_at,
                                   newer.c.evaluation_id > mp.c.evaluation_id)),
                )).order_by(mp.c.model_name, mp.c.competition_id)
            ).mappings().all()
            checked = connection.execute(
                sa.select(sf.c.source, sa.func.max(sf.c.checked_at)).group_by(sf.c.source).order_by(sf.c.source)
            ).all()
            publishes = connection.execute(
                sa.select(schema.publish_log.c.model_name, schema.publish_log.c.duration_seconds)
                .order_by(schema.publish_log.c.model_name)
            ).all()
            statuses = connection.execute(
                sa.select(sf.c.source, sf.c.status, sa.func.count()).group_by(sf.c.source, sf.c.status)
                .order_by(sf.c.source, sf.c.status)
            ).all()

        total = GaugeMetricFamily("football_predictions", "prediction rows in the warehouse (every model version)",
                                  labels=["competition_id", "model_name"])
        upcoming = GaugeMetricFamily("football_predictions_upcoming",
                                     "prediction rows for matches kicking off after now",
                                     labels=["competition_id", "model_name"])
        for competition, model, count, future in counts:
            total.add_metric([competition, model], count)
            upcoming.add_metric([competition, model], future or 0)
        yield total
        yield upcoming

        last = GaugeMetricFamily("football_predictions_last_published_timestamp_seconds",
                                 "newest predicted_at of the model, seconds since the epoch", labels=["model_name"])
        age = GaugeMetricFamily("football_predictions_age_seconds",
                                "seconds since the model's newest prediction was published", labels=["model_name"])
        for model, newest in published:
            last.add_metric([model], _epoch(newest))
            age.add_metric([model], now - _epoch(newest))
        yield last
        yield age
        yield _publish_histogram(publishes)

        labels = ["model_name", "model_version", "competition_id"]
        families = {name: GaugeMetricFamily(f"football_model_{name}", f"latest evaluation: {text}", labels=labels)
                    for name, text in EVALUATION_METRICS.items()}
        market = GaugeMetricFamily("football_market_rps", "latest evaluation: the de-vigged closing market's RPS "
                                   "on the same matches", labels=labels)
        edge = GaugeMetricFamily("football_model_rps_edge", "latest evaluation: market RPS minus model RPS "
                                 "(positive: the model beat the market)", labels=labels)
        matches = GaugeMetricFamily("football_model_evaluated_matches", "latest evaluation: matches scored",
                                    labels=labels)
        evaluated = GaugeMetricFamily("football_model_evaluated_timestamp_seconds",
                                      "latest evaluation: when it ran, seconds since the epoch", labels=labels)
        for row in latest:
            key = [row["model_name"], row["model_version"], row["competition_id"]]
            for name, family in families.items():
                if row[name] is not None:
                    family.add_metric(key, row[name])
            if row["market_rps"] is not None:
                market.add_metric(key, row["market_rps"])
                if row["rps"] is not None:
                    edge.add_metric(key, row["market_rps"] - row["rps"])
            matches.add_metric(key, row["n_matches"])
            evaluated.add_metric(key, _epoch(row["evaluated_at"]))
        yield from families.values()
        yield from (market, edge, matches, evaluated)

        fresh = GaugeMetricFamily("football_source_last_checked_timestamp_seconds",
                                  "newest source file check (fetch or load), seconds since the epoch",
                                  labels=["source"])
        stale = GaugeMetricFamily("football_source_age_seconds", "seconds since the source's newest file check",
                                  labels=["source"])
        for source, newest in checked:
            fresh.add_metric([source], _epoch(newest))
            stale.add_metric([source], now - _epoch(newest))
        yield fresh
        yield stale
        files = GaugeMetricFamily("football_source_files", "source files by load status",
                                  labels=["source", "status"])
        for source, status, count in statuses:
            files.add_metric([source, status], count)
        yield files


def registry_for(warehouse_url: str, clock: Callable[[], float] = time.time) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(WarehouseCollector(engines.create_engine(warehouse_url), clock))
    return registry


def start(port: int, warehouse_url: str | None = None, addr: str = "0.0.0.0") -> tuple:
    """Serve /metrics in a background thread; returns prometheus_client's (server, thread).
    `port` 0 picks a free port (server.server_port)."""
    url = warehouse_url or settings.warehouse_url()
    server, thread = start_http_server(port, addr=addr, registry=registry_for(url))
    log.info("metrics for %s on http://%s:%d/metrics", engines.redacted(url), addr, server.server_port)
    return server, thread


def serve(port: int = DEFAULT_PORT, warehouse_url: str | None = None, addr: str = "0.0.0.0") -> None:
    """Serve /metrics until interrupted (the `football-pipeline metrics` command)."""
    server, _ = start(port, warehouse_url, addr)
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prometheus metrics read from the warehouse")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--addr", default="0.0.0.0")
    parser.add_argument("--warehouse-url", default=None, help="default: WAREHOUSE_URL or the embedded default")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    serve(args.port, args.warehouse_url, args.addr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


PUBLISH_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def _publish_histogram(rows) -> HistogramMetricFamily:
    """Every logged publish's duration, per model, as a cumulative Prometheus histogram."""
    family = HistogramMetricFamily("football_publish_duration_seconds",
                                   "seconds from loading the champion to its predictions written, per publish",
                                   labels=["model_name"])
    by_model: dict[str, list[float]] = {}
    for model, seconds in rows:
        by_model.setdefault(model, []).append(float(seconds))
    for model, durations in by_model.items():
        buckets = [(str(bound), sum(d <= bound for d in durations)) for bound in PUBLISH_BUCKETS]
        buckets.append(("+Inf", len(durations)))
        family.add_metric([model], buckets, sum_value=sum(durations))
    return family
