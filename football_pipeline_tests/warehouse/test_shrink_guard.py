"""The shrink guard names what a load would lose and why, and a refused load still keeps its files.

A file with fewer completed matches than the warehouse holds for its partition is refused. The
refusal names the matches that would be lost (home v away, date; the first ten and a count) and why
the new file lacks each: its row there was quarantined (line and reason), or it is absent. The refused
file's bytes (`raw_files`) and rejected rows (`quarantine`) are kept, the refusal in
`source_files.message`; the loaded rows stay as they were.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from football_pipeline import cli, pipeline
from football_pipeline.ingestion import files
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import load, migrate, reference, schema
from football_pipeline_tests.conftest import copy_bundled
from football_pipeline_tests.helpers import E0_2223, EPL_2022, real_lines, set_cell, write
from football_pipeline_tests.warehouse.test_load import SEASON, read_partition, snapshot

BAD_DATE_LINE = 21  # Liverpool v Crystal Palace, 15 August 2022
BAD_DATE_REASON = "Date '31/02/2023' is not a date (dd/mm/yy, dd/mm/yyyy or yyyy-mm-dd)"


@pytest.fixture
def e0(data_dir: Path) -> Path:
    copy_bundled(data_dir, E0_2223, EPL_2022)
    return data_dir


@pytest.fixture
def loaded(warehouse, vocabulary, e0) -> sa.Engine:
    """E0 2022-23 from football-data and Understat, loaded once."""
    migrate.upgrade(warehouse)
    reference.load_reference(warehouse, vocabulary)
    result, _, problems = pipeline.load_sources(warehouse, "E0", SEASON.key, read_partition(e0, vocabulary))
    assert problems == [] and result.rows["matches"] == 380
    return warehouse


def with_bad_date(lines: list[str]) -> list[str]:
    lines = list(lines)
    index = BAD_DATE_LINE - 1
    lines[index] = set_cell(lines[index], lines[0], "Date", "31/02/2023")
    return lines


def partition_rows(snap: dict) -> dict:
    return {name: rows for name, rows in snap.items() if name != "quarantine"}


def source_file(engine: sa.Engine, source: str) -> dict:
    table = schema.source_files
    with engine.connect() as connection:
        return dict(connection.execute(sa.select(table).where(table.c.source == source)).mappings().one())


def test_one_bad_row_in_a_loaded_season_is_named_with_its_reason_and_kept(loaded, e0, vocabulary):
    before = snapshot(loaded)
    write(e0 / E0_2223, with_bad_date(real_lines()))
    with pytest.raises(load.LoadRefused) as refused:
        pipeline.load_sources(loaded, "E0", SEASON.key, read_partition(e0, vocabulary))
    message = str(refused.value)
    assert message == (
        "E0 2022-2023: the new files would replace data with less (football-data holds 379 completed matches, "
        f"the warehouse 380). Refusing to load {E0_2223}, which lacks 1 completed match the warehouse holds "
        "(1 quarantined):\n"
        f"  Liverpool v Crystal Palace 2022-08-15: quarantined, line {BAD_DATE_LINE} (schema): {BAD_DATE_REASON}\n"
        "Fix or restore those rows, or load with allow_shrink to accept the smaller set."
    )
    assert "truncated" not in message

    # The loaded rows are unchanged; the refused file's bytes, its bad row and the refusal are kept.
    after = snapshot(loaded)
    assert partition_rows(after) == partition_rows(before)
    with loaded.connect() as connection:
        raw = connection.execute(sa.select(schema.raw_files.c.content).where(
            schema.raw_files.c.sha256 == files.sha256((e0 / E0_2223).read_bytes()))).scalar_one()
        quarantined = connection.execute(sa.select(
            schema.quarantine.c.source_file, schema.quarantine.c.source_row, schema.quarantine.c.check_name,
            schema.quarantine.c.reason).where(schema.quarantine.c.source == "football-data")).all()
    assert raw == (e0 / E0_2223).read_bytes()
    assert (E0_2223, BAD_DATE_LINE, "schema", BAD_DATE_REASON) in [tuple(q) for q in quarantined]
    state = source_file(loaded, "football-data")
    assert state["status"] == "blocked" and state["rows_loaded"] == 380
    assert state["message"] == f"load refused: {message}"
    assert state["sha256"] == files.sha256((e0 / E0_2223).read_bytes())
    # The Understat file, unchanged and loaded, stays recorded as loaded; nothing is skipped as unchanged.
    assert source_file(loaded, "understat")["status"] == "loaded"
    prints = {r.file.source: r.fingerprint for r in read_partition(e0, vocabulary)}
    assert not pipeline.unchanged(loaded, "E0", SEASON.key, prints)

    # Fixing the row loads the file again; allow_shrink accepts the smaller set as before.
    write(e0 / E0_2223, real_lines())
    again, _, _ = pipeline.load_sources(loaded, "E0", SEASON.key, read_partition(e0, vocabulary))
    assert again.rows["matches"] == 380 and source_file(loaded, "football-data")["status"] == "loaded"


def test_truncated_file_names_the_first_ten_losses_and_counts_the_rest(loaded, e0, vocabulary):
    before = snapshot(loaded)
    write(e0 / E0_2223, with_bad_date(real_lines()[:300]))
    shrunk = "football-data holds 298 completed matches, the warehouse 380"
    with pytest.raises(load.LoadRefused, match=shrunk) as refused:
        pipeline.load_sources(loaded, "E0", SEASON.key, read_partition(e0, vocabulary))
    head, *losses, last = str(refused.value).split("\n")
    assert head.endswith("which lacks 82 completed matches the warehouse holds (1 quarantined, "
                         "81 absent from the file):")
    assert len(losses) == load.SHOWN_LOSSES + 1 and losses[-1] == "  ... and 72 more"
    assert losses[0] == (f"  Liverpool v Crystal Palace 2022-08-15: quarantined, line {BAD_DATE_LINE} (schema): "
                         f"{BAD_DATE_REASON}")
    assert all(re.fullmatch(r"  .+ v .+ 2023-\d\d-\d\d: absent from the file", line) for line in losses[1:-1])
    assert last == ("A truncated or partial file? Fix or restore those rows, or load with allow_shrink to accept "
                    "the smaller set.")
    assert partition_rows(snapshot(loaded)) == partition_rows(before)
    assert source_file(loaded, "football-data")["status"] == "blocked"


def test_quarantined_understat_record_is_named_with_its_reason(loaded, e0, vocabulary):
    document = json.loads((e0 / EPL_2022).read_text(encoding="utf-8"))
    record = document["dates"][0]  # Crystal Palace v Arsenal, 5 August 2022
    assert (record["h"]["title"], record["a"]["title"], record["isResult"]) == ("Crystal Palace", "Arsenal", True)
    record["isResult"] = "yes"
    (e0 / EPL_2022).write_text(json.dumps(document), encoding="utf-8")
    before = snapshot(loaded)
    with pytest.raises(load.LoadRefused) as refused:
        pipeline.load_sources(loaded, "E0", SEASON.key, read_partition(e0, vocabulary))
    message = str(refused.value)
    assert "(understat holds 379 completed matches, the warehouse 380)" in message
    assert ("  Crystal Palace v Arsenal 2022-08-05: quarantined, record 1 (schema): "
            "record 1: isResult is 'yes', not true/false\n") in message
    assert "truncated" not in message
    assert partition_rows(snapshot(loaded)) == partition_rows(before)
    state = source_file(loaded, "understat")
    assert state["status"] == "blocked" and state["message"].startswith("load refused: E0 2022-2023")


def test_missing_source_refusal_keeps_the_files_given(loaded, e0, vocabulary):
    """The other guard (a source's file missing) also keeps what it was given, e.g. a changed file."""
    (e0 / EPL_2022).unlink()
    lines = real_lines()
    lines[1] = set_cell(lines[1], lines[0], "Referee", "A Different Referee")
    write(e0 / E0_2223, lines)
    with pytest.raises(load.LoadRefused, match="380 matches loaded from understat"):
        pipeline.load_sources(loaded, "E0", SEASON.key, read_partition(e0, vocabulary))
    state = source_file(loaded, "football-data")
    assert state["status"] == "blocked" and state["sha256"] == files.sha256((e0 / E0_2223).read_bytes())
    assert "no understat file was given" in state["message"]


def test_cli_load_shows_the_row_and_reason_and_keeps_the_file(e0, sqlite_url, capsys):
    assert cli.main(["load", "--data-dir", str(e0), "--warehouse-url", sqlite_url, "--workers", "1"]) == 0
    capsys.readouterr()
    write(e0 / E0_2223, with_bad_date(real_lines()))
    assert cli.main(["load", "--data-dir", str(e0), "--warehouse-url", sqlite_url, "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "1 partitions: 0 loaded, 0 unchanged, 1 refused" in out
    assert "REFUSED E0 2022-2023: the new files would replace data with less" in out
    assert (f"  Liverpool v Crystal Palace 2022-08-15: quarantined, line {BAD_DATE_LINE} (schema): "
            f"{BAD_DATE_REASON}") in out
    engine = sa.create_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            kept = connection.execute(sa.select(sa.func.count()).select_from(schema.raw_files).where(
                schema.raw_files.c.sha256 == files.sha256((e0 / E0_2223).read_bytes()))).scalar_one()
            row = connection.execute(sa.select(schema.quarantine.c.reason).where(
                schema.quarantine.c.source_row == BAD_DATE_LINE)).scalar_one()
            matches = connection.execute(sa.select(sa.func.count()).select_from(schema.matches)).scalar_one()
        assert (kept, row, matches) == (1, BAD_DATE_REASON, 380)
    finally:
        engine.dispose()


def test_match_now_without_a_result_is_named_as_such(data_dir, sqlite_url, vocabulary):
    copy_bundled(data_dir, E0_2223)  # football-data only: no other source has the result
    engine = engines.create_engine(sqlite_url)
    migrate.upgrade(engine)
    reference.load_reference(engine, vocabulary)
    pipeline.load_sources(engine, "E0", SEASON.key, read_partition(data_dir, vocabulary))
    lines = real_lines()
    for column in ("FTHG", "FTAG", "FTR", "HTHG", "HTAG", "HTR"):
        lines[8] = set_cell(lines[8], lines[0], column, "")  # line 9: Leicester v Brentford, 7 August 2022
    write(data_dir / E0_2223, lines)
    with pytest.raises(load.LoadRefused) as refused:
        pipeline.load_sources(engine, "E0", SEASON.key, read_partition(data_dir, vocabulary))
    assert str(refused.value).split("\n")[1:] == [
        "  Leicester City v Brentford 2022-08-07: in the file without a result (now scheduled)",
        "Fix or restore those rows, or load with allow_shrink to accept the smaller set.",
    ]
    engine.dispose()


def test_refusal_survives_a_failure_to_record_the_files(loaded, e0, vocabulary, monkeypatch):
    def unavailable(*_args):
        raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(load, "_record_refused", unavailable)
    write(e0 / E0_2223, with_bad_date(real_lines()))
    with pytest.raises(load.LoadRefused, match="Liverpool v Crystal Palace 2022-08-15: quarantined") as refused:
        pipeline.load_sources(loaded, "E0", SEASON.key, read_partition(e0, vocabulary))
    assert any("could not be recorded" in note for note in refused.value.__notes__)
