"""Typed Dagster resources: the warehouse, the source files, and where parsed sources are kept."""

from football_pipeline.resources.io import SourceResultIOManager
from football_pipeline.resources.sources import SourceFilesResource
from football_pipeline.resources.warehouse import WarehouseResource

__all__ = ["SourceFilesResource", "SourceResultIOManager", "WarehouseResource"]
