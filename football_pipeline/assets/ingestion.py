"""Ingestion assets: one source file per competition x season, parsed and checked.

Each asset parses its partition's file, validates it (the checks below are its asset checks, blocking
on ERROR) and hands the validated rows to the warehouse load. A file that fails a blocking check, or
cannot be read at all, has its bytes and rejected rows recorded in the warehouse (`raw_files`,
`quarantine`) and leaves the loaded data as it was.
"""


import dagster as dg

from football_pipeline import partitions, pipeline
from football_pipeline.ingestion.files import FOOTBALL_DATA, UNDERSTAT
from football_pipeline.quality.validate import CHECKS, ERROR
from football_pipeline.resources import SourceFilesResource, WarehouseResource
from football_pipeline.warehouse import load

FOOTBALL_DATA_KEY = dg.AssetKey(["ingestion", "football_data_matches"])
UNDERSTAT_KEY = dg.AssetKey(["ingestion", "understat_matches"])


def _check_specs(source: str, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=key, blocking=True, description=text)
            for name, text in CHECKS[source].items()]


def _materialize(context: dg.AssetExecutionContext, source: str, key: dg.AssetKey,
                 sources: SourceFilesResource, warehouse: WarehouseResource):
    competition_id, season = partitions.split(context.partition_key)
    data_dir = sources.directory()
    file = pipeline.partition_files(data_dir, competition_id, season).get(source)
    if file is None:
        yield dg.Output(None, metadata={"status": f"no {source} file for {competition_id} {season} in {data_dir}"})
        for name in CHECKS[source]:
            yield dg.AssetCheckResult(asset_key=key, check_name=name, passed=True,
                                      metadata={"status": "no file for this partition: nothing to check"})
        return

    result = pipeline.read_source(file, data_dir, sources.vocabulary(), sources.as_of())
    if result.error:
        load.record_unloaded(warehouse.engine(), competition_id, season.key, result.record())
        raise dg.Failure(
            description=result.error,
            metadata={"file": result.path, "sha256": result.sha256,
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
    kinds={"pandas", "csv"},
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
    kinds={"pandas", "json"},
)
def understat_matches(context: dg.AssetExecutionContext, sources: SourceFilesResource,
                      warehouse: WarehouseResource):
    """Understat season: matches with expected goals (xG), checked."""
    yield from _materialize(context, UNDERSTAT, UNDERSTAT_KEY, sources, warehouse)
