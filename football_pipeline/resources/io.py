"""Keeps each partition's parsed and validated source between the ingestion and warehouse steps."""

from __future__ import annotations

import pickle
from pathlib import Path

import dagster as dg
from pydantic import Field

from football_pipeline import settings


class SourceResultIOManager(dg.ConfigurableIOManager):
    """Pickles per asset and partition. A partition never materialized reads as None (no such source),
    so a league with no Understat coverage still loads from football-data alone."""

    base_dir: str | None = Field(default=None, description="Default: <DAGSTER_HOME>/storage/sources")

    def _path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        base = Path(self.base_dir) if self.base_dir else settings.dagster_home() / "storage" / "sources"
        key = context.asset_key if isinstance(context, dg.OutputContext) else context.upstream_output.asset_key
        partition = context.asset_partition_key.replace("|", "_")
        return base.joinpath(*key.path) / f"{partition}.pickle"

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        temporary.replace(path)

    def load_input(self, context: dg.InputContext) -> object:
        path = self._path(context)
        if not path.exists():
            context.log.info(f"{context.upstream_output.asset_key.to_user_string()} "
                             f"[{context.asset_partition_key}] was never materialized: no such source")
            return None
        return pickle.loads(path.read_bytes())
