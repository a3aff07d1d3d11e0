"""Ingestion assets: one source file per competition x season, fetched, parsed and checked.

In the default `bundled` source mode each asset reads its partition's file from the data directory;
in `live` mode it first runs the source's spider (a subprocess, one crawl per site at a time through a
concurrency pool), falling back to the last good fetched copy and then to the data directory; in
`replay` mode the spiders run on the raw-response archive. The quality checks below are asset checks
(blocking on ERROR); `source_fetch` and `page_structure` report what the fetch met. A file that fails
a blocking check, or cannot be read at all, has its bytes and rejected rows recorded in the warehouse
(`raw_files`, `quarantine`) and leaves the loaded data as it was.
"""

import dagster as dg

from football_pipeline import partitions, pipeline
from football_pipeline.acquire import Acquired
from football_pipeline.ingestion.files import FBREF, FOOTBALL_DATA, UNDERSTAT
from football_pipeline.quality.validate import CHECKS, ERROR
from football_pipeline.resources import SourceFilesResource, WarehouseResource
from football_pipeline.warehouse import load

FOOTBALL_DATA_KEY = dg.AssetKey(["ingestion", "football_data_matches"])
UNDERSTAT_KEY = dg.AssetKey(["ingestion", "understat_matches"])
FBREF_KEY = dg.AssetKey(["ingestion", "fbref_matches"])
FETCH_CHECKS = {
    "source_fetch": "The source was fetched (live or replay) or read (bundled); a failed fetch names the URL and "
                    "reason (blocked, HTTP error, network) and which fallback was used.",
    "page_structure": "What the pages held (tables, columns, JSON keys) is what the parsers expect; a change is "
                      "named.",
}


def _check_specs(source: str, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=key, blocking=True, description=text)
            for name, text in {**FETCH_CHECKS, **CHECKS[source]}.items()]


def _fetch_checks(key: dg.AssetKey, got: Acquired):
    mode = "bundled" if got.report is None else got.report.mode
    fetch_metadata = {"mode": mode, "used": got.via}
    if got.report is not None:
        fetch_metadata["crawl"] = got.report.summary()
        fetch_metadata["requests"] = got.report.requests
    failed = bool(got.fetch_problems) or (got.report is not None and not got.fresh)
    yield dg.AssetCheckResult(
        asset_key=key, check_name="source_fetch", passed=not failed, severity=dg.AssetCheckSeverity.WARN,
        description=("; ".join(got.fetch_problems) or f"not fetched; used {got.via}") if failed else None,
        metadata={**fetch_metadata, "problems": "\n".join(got.fetch_problems) or "none"},
    )
    yield dg.AssetCheckResult(
        asset_key=key, check_name="page_structure", passed=not got.drift, severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(got.drift) if got.drift else None,
        metadata={"changes": "\n".join(got.drift) or "none"},
    )


def _materialize(context: dg.AssetExecutionContext, source: str, key: dg.AssetKey,
                 sources: SourceFilesResource, warehouse: WarehouseResource):
    competition_id, season = partitions.split(context.partition_key)
    got = sources.fetch(source, competition_id, season)
    if got.file is None:
        if got.report is not None and (got.fetch_problems or got.drift):
            reason = "; ".join(got.fetch_problems + got.drift)
            yield dg.Output(pipeline.Unavailable(source, reason), metadata={"status": f"unavailable: {reason}"})
        else:
            yield dg.Output(None, metadata={"status": f"no {source} file for {competition_id} {season}"})
        yield from _fetch_checks(key, got)
        for name in CHECKS[source]:
            yield dg.AssetCheckResult(asset_key=key, check_name=name, passed=True,
                                      metadata={"status": "no file for this partition: nothing to check"})
        return

    result = pipeline.read_source(got.file, got.data_dir, sources.vocabulary(), sources.as_of())
    if result.error:
        load.record_unloaded(warehouse.engine(), competition_id, season.key, result.record())
        raise dg.Failure(
            description=result.error,
            metadata={"file": result.path, "sha256": result.sha256, "used": got.via,
                      "kept": "raw bytes in raw_files, reason in quarantine; warehouse unchanged"},
        )
    validated = result.validated
    if validated.blocked:
        load.record_unloaded(warehouse.engine(), competition_id, season.key, result.record())
    info = validated.parsed.info
    yield dg.Output(
        result,
        metadata={
            "file": result.path,
            "used": got.via,
            "sha256": result.sha256,
            "rows_parsed": dg.MetadataValue.int(len(validated.parsed.matches)),
            "rows_valid": dg.MetadataValue.int(len(validated.matches)),
            "rows_quarantined": dg.MetadataValue.int(len(validated.rejections)),
            "odds_prices": dg.MetadataValue.int(0 if validated.odds is None else len(validated.odds)),
            "encoding": str(info.get("encoding")),
            "bom": str(info.get("bom")),
            "line_endings": str(info.get("line_endings")),
            "date_formats": ", ".join(info.get("date_formats", [])) or "-",
            "unmapped_columns": ", ".join(info.get("unmapped_columns", [])) or "none",
            "blocked": str(validated.blocked),
            "preview": dg.MetadataValue.md(
                validated.matches.drop(columns=["raw_row"]).head(5).to_markdown(index=False)
            ),
        },
    )
    yield from _fetch_checks(key, got)
    for outcome in validated.outcomes:
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=outcome.name,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR if outcome.severity == ERROR else dg.AssetCheckSeverity.WARN,
            description=outcome.description,
            metadata={k: v if isinstance(v, int | float) else str(v) for k, v in outcome.metadata.items()},
        )


@dg.asset(
    key=FOOTBALL_DATA_KEY,
    group_name="ingestion",
    partitions_def=partitions.PARTITIONS,
    check_specs=_check_specs(FOOTBALL_DATA, FOOTBALL_DATA_KEY),
    io_manager_key="source_io_manager",
    kinds={"pandas", "csv", "scrapy"},
    pool="scrape-football-data",
)
def football_data_matches(context: dg.AssetExecutionContext, sources: SourceFilesResource,
                          warehouse: WarehouseResource):
    """football-data.co.uk season file: results, match statistics and opening/closing odds, checked."""
    yield from _materialize(context, FOOTBALL_DATA, FOOTBALL_DATA_KEY, sources, warehouse)


@dg.asset(
    key=UNDERSTAT_KEY,
    group_name="ingestion",
    partitions_def=partitions.PARTITIONS,
    check_specs=_check_specs(UNDERSTAT, UNDERSTAT_KEY),
    io_manager_key="source_io_manager",
    kinds={"pandas", "json", "scrapy"},
    pool="scrape-understat",
)
def understat_matches(context: dg.AssetExecutionContext, sources: SourceFilesResource,
                      warehouse: WarehouseResource):
    """Understat season: matches with expected goals (xG), checked."""
    yield from _materialize(context, UNDERSTAT, UNDERSTAT_KEY, sources, warehouse)


@dg.asset(
    key=FBREF_KEY,
    group_name="ingestion",
    partitions_def=partitions.PARTITIONS,
    check_specs=_check_specs(FBREF, FBREF_KEY),
    io_manager_key="source_io_manager",
    kinds={"pandas", "html", "scrapy"},
    pool="scrape-fbref",
)
def fbref_matches(context: dg.AssetExecutionContext, sources: SourceFilesResource, warehouse: WarehouseResource):
    """FBref "Scores & Fixtures": schedule, kick-off times, venues, attendances and referees, checked."""
    yield from _materialize(context, FBREF, FBREF_KEY, sources, warehouse)
