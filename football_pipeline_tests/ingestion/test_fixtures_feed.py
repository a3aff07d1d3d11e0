"""football-data's fixtures feed: the coming matches of every division, merged into the season file they belong to.

No recorded fixtures.csv exists, so each feed here is built from real bundled rows: E0 2022-23 cut at
2023-04-01 plays the season file as football-data served it that morning, and the cut-off rows, with their
results, statistics and closing prices removed, play the fixtures feed (as football-data lays it out: `Div`
first, every division in one file, pre-match prices only).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from football_pipeline import pipeline
from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import football_data
from football_pipeline.ingestion.companions import FIXTURE_ROW_BASE
from football_pipeline.ingestion.files import football_data_file
from football_pipeline.modelling import data as modelling_data
from football_pipeline.modelling import production
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import schema
from football_pipeline_tests.conftest import TODAY
from football_pipeline_tests.helpers import cell, real_lines, write

SEASON = Season(2022)
CUT = dt.date(2023, 4, 1)
RESULT_COLUMNS = {"FTHG", "FTAG", "FTR", "HTHG", "HTAG", "HTR", "HS", "AS", "HST", "AST", "HF", "AF", "HC", "AC",
                  "HY", "AY", "HR", "AR"}


def _date(line: str, header: str) -> dt.date:
    return dt.datetime.strptime(cell(line, header, "Date"), "%d/%m/%Y").date()


def _split() -> tuple[list[str], list[str], list[str]]:
    """(header, season rows before CUT, rows on/after CUT) of the real E0 2022-23 file."""
    lines = real_lines()
    header, rows = lines[0], lines[1:]
    return [header], [r for r in rows if _date(r, header) < CUT], [r for r in rows if _date(r, header) >= CUT]


def _feed(header: str, rows: list[str]) -> tuple[str, list[str]]:
    """The feed's header and rows: the season file's pre-match columns only."""
    names = header.rstrip("\r\n").split(",")
    keep = [i for i, name in enumerate(names)
            if name not in RESULT_COLUMNS and name != "Referee" and not _closing(name)]
    pick = lambda line: ",".join(line.rstrip("\r\n").split(",")[i] for i in keep) + "\r\n"  # noqa: E731
    return pick(header), [pick(r) for r in rows]


def _closing(name: str) -> bool:
    # Closing prices insert "C" after the bookmaker prefix: PSCH, B365C>2.5, AvgCAHH, PCAHH; AHCh.
    return name == "AHCh" or any(name.startswith(prefix + "C")
                                 for prefix in ("B365", "BW", "IW", "PS", "WH", "VC", "Max", "Avg", "P"))


def _data_dir(tmp_path, feed_rows_extra: list[str] = ()) -> tuple:
    header, before, after = _split()
    data_dir = tmp_path / "data"
    write(data_dir / "football-data/E0/2223.csv", header + before)
    feed_header, feed_rows = _feed(header[0], after)
    write(data_dir / "football-data/fixtures.csv", [feed_header, *feed_rows, *feed_rows_extra])
    return data_dir, before, after, feed_header, feed_rows


def test_the_feed_parses_to_one_partitions_coming_matches_with_pre_match_prices(tmp_path):
    _, _, after = _split()
    feed_header, feed_rows = _feed(_split()[0][0], after)
    # Another division's row and a row of next season are other partitions' business, not faults.
    e1 = "E1" + feed_rows[0][2:]
    next_season = feed_rows[1].replace(cell(feed_rows[1], feed_header, "Date"), "19/08/2023")
    body = "".join([feed_header, e1, *feed_rows, next_season]).encode()
    parsed = football_data.parse_fixtures(body, path="football-data/fixtures.csv", competition_id="E0",
                                          season=SEASON)
    assert parsed.rejections == [] and parsed.info["other_partitions_rows"] == 1
    # 19 Aug 2023 lies in the summer overlap of the 2022-23 and 2023-24 windows; the merge decides.
    assert len(parsed.matches) == len(after) + 1
    assert parsed.matches["home_goals"].isna().all() and parsed.matches["result"].isna().all()
    # Line numbers are fixtures.csv's own (the E1 row is line 2, so E0 rows start at line 3).
    assert parsed.matches["source_row"].min() == 3
    assert set(parsed.odds["phase"]) == {"opening"}
    pinnacle = parsed.odds[(parsed.odds["bookmaker"] == "pinnacle") & (parsed.odds["market"] == "1x2")]
    assert len(pinnacle) == 3 * (len(after) + 1)


def test_a_feed_without_the_partitions_rows_or_without_a_team_column():
    header, _, after = _split()
    feed_header, feed_rows = _feed(header[0], after)
    other = "".join([feed_header, "SC0" + feed_rows[0][2:]]).encode()
    parsed = football_data.parse_fixtures(other, path="fixtures.csv", competition_id="E0", season=SEASON)
    assert parsed.matches.empty and parsed.info["other_partitions_rows"] == 1
    renamed = "".join([feed_header.replace("HomeTeam", "Home"), *feed_rows]).encode()
    try:
        football_data.parse_fixtures(renamed, path="fixtures.csv", competition_id="E0", season=SEASON)
    except football_data.SourceFileError as error:
        assert "HomeTeam" in error.reason and "fixtures.csv" in str(error)
    else:
        raise AssertionError("a feed without HomeTeam must be refused")


def test_loaded_fixtures_are_scheduled_matches_with_opening_prices_that_the_models_see(tmp_path, vocabulary):
    header, _, after = _split()
    feed_header, _ = _feed(header[0], after)
    unknown = _feed(header[0], [after[0]])[1][0].replace(cell(after[0], header[0], "HomeTeam"), "Atletico Nowhere")
    # A fixture of next August (inside the 2022-23 window's summer overlap) belongs to 2023-24.
    august = unknown.replace("Atletico Nowhere", cell(after[0], header[0], "HomeTeam")).replace(
        cell(after[0], header[0], "Date"), "19/08/2023")
    data_dir, before, after, _, feed_rows = _data_dir(tmp_path, [unknown, august])
    engine = engines.create_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    # An unknown team blocks the partition, as in a season file: the reason names the feed and the spelling,
    # the raw bytes and the rejected row are kept, and the warehouse holds no half-loaded partition.
    summary = pipeline.load_directory(engine, data_dir, today=TODAY)
    (refused,) = summary.refused
    assert "with the coming matches of football-data/fixtures.csv" in refused and "'Atletico Nowhere'" in refused
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(schema.matches)).scalar_one() == 0
        quarantined = connection.execute(sa.select(schema.quarantine.c.source_row, schema.quarantine.c.reason)
                                         .where(schema.quarantine.c.reason.like("%Atletico Nowhere%"))).all()
    ((row, reason),) = quarantined
    assert row == 1 + len(feed_rows) + 1 and reason.startswith(f"football-data/fixtures.csv line {row}: ")

    # Once the spelling is known (here: the fixture dropped from the feed) the partition loads.
    write(data_dir / "football-data/fixtures.csv", [feed_header, *feed_rows, august])
    summary = pipeline.load_directory(engine, data_dir, today=TODAY)
    assert summary.loaded == 1 and not summary.refused, summary
    m, o = schema.matches, schema.odds
    with engine.connect() as connection:
        statuses = dict(connection.execute(sa.select(m.c.status, sa.func.count()).group_by(m.c.status)).all())
        first_scheduled = connection.execute(sa.select(sa.func.min(m.c.match_date))
                                             .where(m.c.status == "scheduled")).scalar_one()
        closing = connection.execute(sa.select(sa.func.count()).select_from(o.join(m, o.c.match_id == m.c.match_id))
                                     .where(m.c.status == "scheduled", o.c.phase == "closing")).scalar_one()
    assert statuses == {"completed": len(before), "scheduled": len(after)}
    assert pd.Timestamp(first_scheduled).date() == CUT and closing == 0

    frame = modelling_data.with_promoted(modelling_data.load_matches(engine, ["E0"]))
    upcoming = production.upcoming(frame, "E0", CUT)
    assert len(upcoming) == len(after)
    assert upcoming[["odds_open_home", "odds_open_draw", "odds_open_away"]].notna().all().all()
    assert upcoming["odds_close_home"].isna().all()

    # The feed is part of the partition's fingerprint: a changed feed reloads it; an unchanged one does not.
    assert pipeline.load_directory(engine, data_dir, today=TODAY).unchanged == 1
    write(data_dir / "football-data/fixtures.csv", [feed_header, *feed_rows[:-2]])
    again = pipeline.load_directory(engine, data_dir, today=TODAY)
    assert again.loaded == 1
    with engine.connect() as connection:
        scheduled = connection.execute(sa.select(sa.func.count()).select_from(m)
                                       .where(m.c.status == "scheduled")).scalar_one()
    assert scheduled == len(after) - 2
    engine.dispose()


def test_a_played_fixture_is_left_to_the_season_file_and_a_broken_feed_loses_nothing(tmp_path, vocabulary):
    header, before, after = _split()
    data_dir = tmp_path / "data"
    # The feed still lists the first three matches after they were played and entered the season file.
    write(data_dir / "football-data/E0/2223.csv", header + before + after[:3])
    feed_header, feed_rows = _feed(header[0], after)
    write(data_dir / "football-data/fixtures.csv", [feed_header, *feed_rows])
    engine = engines.create_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    assert pipeline.load_directory(engine, data_dir, today=TODAY).loaded == 1
    m = schema.matches
    with engine.connect() as connection:
        statuses = dict(connection.execute(sa.select(m.c.status, sa.func.count()).group_by(m.c.status)).all())
    assert statuses == {"completed": len(before) + 3, "scheduled": len(after) - 3}

    # A feed cut off mid-line: the feed is refused with its reason, the season file loads as it is.
    write(data_dir / "football-data/fixtures.csv", "".join([feed_header, *feed_rows])[:-40])
    result = pipeline.read_source(football_data_file(data_dir, "E0", SEASON), data_dir, vocabulary, TODAY)
    assert result.usable
    reasons = [r.reason for r in result.validated.rejections]
    assert any(reason.startswith("fixtures feed: ") and "line break" in reason for reason in reasons), reasons
    assert result.validated.matches["home_goals"].notna().all()
    assert FIXTURE_ROW_BASE > 100_000
    engine.dispose()


def test_understats_unplayed_matches_are_upcoming_fixtures(tmp_path):
    # Understat's EPL 2020-21 page saved in March 2021 (real): 276 of 380 matches played. What the live
    # Understat spider writes from it, loaded alone, gives the warehouse 104 scheduled matches, which are
    # the serving sensor's upcoming fixtures.
    from football_pipeline.automation.sensors import upcoming_fixtures
    from football_pipeline.ingestion.understat_pages import league_page_to_dates
    from football_pipeline_tests.conftest import FIXTURES

    page = FIXTURES / "understat" / "league_EPL_2020.html"
    data_dir = tmp_path / "data"
    write(data_dir / "understat/EPL/2020.json", league_page_to_dates(page.read_bytes(), path=page.name))
    engine = engines.create_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    summary = pipeline.load_directory(engine, data_dir, today=dt.date(2021, 3, 31))
    assert summary.loaded == 1 and not summary.refused, summary
    m = schema.matches
    with engine.connect() as connection:
        statuses = dict(connection.execute(sa.select(m.c.status, sa.func.count()).group_by(m.c.status)).all())
        last = connection.execute(sa.select(sa.func.max(m.c.match_date)).where(m.c.status == "completed")).scalar()
    assert statuses == {"completed": 276, "scheduled": 104}
    # Postponed matches from January are among them: still upcoming, whatever their original date.
    fixtures = upcoming_fixtures(engine, "E0", pd.Timestamp(last).date() + dt.timedelta(days=1))
    assert fixtures.count == 104 and fixtures.first_kickoff.startswith("2021-01-16")
    engine.dispose()
