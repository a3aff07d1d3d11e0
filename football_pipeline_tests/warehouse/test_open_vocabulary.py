"""Next season loads by itself: clubs and spellings the vocabulary never saw, on real bundled files.

A vocabulary with clubs taken out (bench/drill.py writes it) stands in for last summer's vocabulary;
the real files of the seasons after it are what a deployment meets in August.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from football_pipeline import pipeline
from football_pipeline.common.teams import DATA_DIR, Vocabulary, VocabularyError, similarity, slug
from football_pipeline.warehouse import review, schema
from football_pipeline_tests.conftest import TODAY, copy_bundled
from football_pipeline_tests.helpers import E0_2223, EPL_2022, cell, real_lines, set_cell, write

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import drill  # noqa: E402


def trimmed(dest: Path, drop_teams: set[str] = frozenset(), drop_aliases: set[tuple[str, str]] = frozenset()) -> Path:
    """The bundled vocabulary less some clubs (with every alias) and some (source, alias) rows."""
    return drill.write_vocabulary(dest, drop_teams, drop_aliases)


def load(engine: sa.Engine, data_dir: Path, vocabulary_dir: Path | None = None) -> pipeline.DirectorySummary:
    return pipeline.load_directory(engine, data_dir, today=TODAY.date() if hasattr(TODAY, "date") else TODAY,
                                   vocabulary_dir=vocabulary_dir)


def resolutions(engine: sa.Engine) -> dict[tuple[str, str], tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(schema.team_resolutions)).mappings().all()
    return {(r["source"], r["alias"]): (r["team_id"], r["decision"]) for r in rows}


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")


def test_new_club_is_created_and_its_understat_spelling_linked_by_shared_matches(engine, data_dir, tmp_path):
    copy_bundled(data_dir, E0_2223, EPL_2022)
    summary = load(engine, data_dir, trimmed(tmp_path / "vocab", drop_teams={"nottingham-forest"}))
    assert summary.loaded == 1 and not summary.refused and not summary.sources_left_out
    decided = resolutions(engine)
    assert decided[("football-data", "Nott'm Forest")] == ("nottm-forest", "new_team")
    assert decided[("understat", "Nottingham Forest")] == ("nottm-forest", "shared_matches")
    with engine.connect() as connection:
        team = connection.execute(sa.select(schema.teams).where(schema.teams.c.team_id == "nottm-forest")).one()
        evidence = connection.execute(sa.select(schema.team_resolutions.c.evidence, schema.team_resolutions.c.first_seen_file)
                                      .where(schema.team_resolutions.c.source == "understat")).one()
        forest = connection.execute(sa.text(
            "SELECT count(*), sum(CASE WHEN sources LIKE '%understat%' THEN 1 ELSE 0 END) FROM matches "
            "WHERE home_team_id = 'nottm-forest' OR away_team_id = 'nottm-forest'")).one()
    assert (team.name, team.country) == ("Nott'm Forest", "ENG")
    assert "38 of its 38 matches" in evidence.evidence and evidence.first_seen_file == EPL_2022
    assert tuple(forest) == (38, 38)  # every Forest match joined across the two sources
    assert any("a new club 'nottm-forest'" in line for line in summary.teams_resolved)

    # The id is permanent: a reload uses the stored decision, and decides nothing new.
    again = pipeline.load_directory(engine, data_dir, skip_unchanged=False, vocabulary_dir=tmp_path / "vocab")
    assert again.loaded == 1 and again.teams_resolved == []


def renamed_forest(data_dir: Path, spelling: str) -> None:
    """E0 2022-23 as football-data would ship it after renaming Nott'm Forest."""
    lines = real_lines()
    header = lines[0]
    for index, line in enumerate(lines[1:], start=1):
        for column in ("HomeTeam", "AwayTeam"):
            if cell(line, header, column) == "Nott'm Forest":
                line = set_cell(line, header, column, spelling)
        lines[index] = line
    write(data_dir / E0_2223, lines)


@pytest.mark.parametrize("with_understat", [True, False])
def test_new_spelling_of_a_known_club_is_an_alias_not_a_new_club(engine, data_dir, with_understat):
    """Forest came up from E1 in 2022 under a spelling football-data then changed: the absent club whose
    Understat matches are the new name's (or, with no other source, whose name alone is alike) is it."""
    copy_bundled(data_dir, "football-data/E1/2122.csv", E0_2223, *([EPL_2022] if with_understat else []))
    renamed_forest(data_dir, "Nottingham F.")
    summary = load(engine, data_dir)
    assert summary.loaded == 2 and not summary.refused
    team_id, decision = resolutions(engine)[("football-data", "Nottingham F.")]
    assert (team_id, decision) == ("nottingham-forest", "renamed")
    (line,) = summary.teams_resolved
    assert ("38 of its 38 matches are nottingham-forest's in understat" if with_understat
            else "the names are alike") in line
    with engine.connect() as connection:
        created = connection.execute(sa.select(sa.func.count()).select_from(schema.teams)
                                     .where(schema.teams.c.team_id.like("nottingham-f%"))).scalar_one()
    assert created == 1


def test_a_new_name_unlike_any_absent_club_is_a_new_club(engine, data_dir):
    copy_bundled(data_dir, "football-data/E1/2122.csv", E0_2223)
    renamed_forest(data_dir, "Trentside Rovers")
    summary = load(engine, data_dir)
    assert summary.loaded == 2
    assert resolutions(engine)[("football-data", "Trentside Rovers")] == ("trentside-rovers", "new_team")


def test_new_spelling_without_another_source_is_told_by_absence_and_name():
    assert similarity("Man City", "Manchester City") >= 0.85
    assert similarity("Nott'm Forest", "Nottingham Forest") >= 0.85
    assert similarity("Sheffield United", "Sheffield Weds") < 0.85
    assert slug("Nott'm Forest") == "nottm-forest" and slug("Düsseldorf") == "dusseldorf"


def test_one_source_failing_leaves_the_others_loading(engine, data_dir, tmp_path):
    """La Liga's Understat file saved as the EPL's: it is left out, named; football-data loads."""
    copy_bundled(data_dir, "football-data/E0/1920.csv")
    (data_dir / "understat" / "EPL").mkdir(parents=True)
    (data_dir / "understat" / "EPL" / "2019.json").write_bytes(
        (pipeline.settings.BUNDLED_DATA_DIR / "understat/La_liga/2019.json").read_bytes())
    summary = load(engine, data_dir)
    assert summary.loaded == 1 and not summary.refused
    (line,) = summary.sources_left_out
    assert "understat/EPL/2019.json" in line and "a file of another league?" in line
    with engine.connect() as connection:
        sources = connection.execute(sa.text("SELECT DISTINCT sources FROM matches")).scalars().all()
        status = connection.execute(sa.select(schema.source_files.c.source, schema.source_files.c.status)).all()
        quarantined = connection.execute(sa.select(sa.func.count()).select_from(schema.quarantine).where(
            schema.quarantine.c.source == "understat", schema.quarantine.c.check_name == "teams_known")).scalar_one()
    assert sources == ["football-data"]
    assert dict(status) == {"football-data": "loaded", "understat": "blocked"}
    assert quarantined == 380  # every row of the refused file kept with its reason


def test_a_file_of_another_division_is_refused_by_its_div_column(engine, data_dir):
    (data_dir / "football-data" / "E0").mkdir(parents=True)
    write(data_dir / "football-data" / "E0" / "2223.csv", real_lines("football-data/E1/2223.csv"))
    summary = load(engine, data_dir)
    assert summary.loaded == 0
    assert any("Div column names E1 (552 rows), not E0" in line for line in summary.refused)


def test_a_file_of_another_division_is_refused_by_its_clubs(engine, data_dir):
    """Without a Div column, its clubs tell: most of them played E1 last season."""
    copy_bundled(data_dir, "football-data/E0/2122.csv", "football-data/E1/2122.csv")
    lines = real_lines("football-data/E1/2223.csv")
    header = lines[0]
    lines = [set_cell(line, header, "Div", "E0") for line in lines[1:]]
    write(data_dir / "football-data" / "E0" / "2223.csv", [header, *lines])
    summary = load(engine, data_dir)
    assert summary.loaded == 2
    (refused,) = summary.refused
    assert "clubs played E1 last season" in refused and "a file of E1 saved as E0 2022-2023?" in refused
    with engine.connect() as connection:
        held = connection.execute(sa.text("SELECT count(*) FROM matches WHERE season = '2022-2023'")).scalar_one()
    assert held == 0


def test_a_misspelling_is_not_a_new_club(engine, data_dir):
    copy_bundled(data_dir, E0_2223)
    lines = real_lines()
    lines[8] = set_cell(lines[8], lines[0], "HomeTeam", "Gunners")
    write(data_dir / E0_2223, lines)
    summary = load(engine, data_dir)
    assert summary.loaded == 0
    assert "'Gunners' plays 1 match(es) where the file's clubs play 38" in summary.refused[0]
    assert "football-data,ENG,Gunners,<team_id>" in summary.refused[0]


def test_contradicting_alias_in_a_data_dir_is_refused_naming_both(data_dir):
    (data_dir / "team_aliases.csv").write_text("source,country,alias,team_id\nfootball-data,ENG,Arsenal,chelsea\n")
    with pytest.raises(VocabularyError) as error:
        Vocabulary.load([data_dir])
    message = str(error.value)
    assert "'Arsenal'" in message and "'chelsea'" in message and "'arsenal'" in message
    assert str(DATA_DIR / "team_aliases.csv") in message


def test_a_data_dirs_teams_are_written_only_with_a_partition_that_loads(engine, data_dir):
    (data_dir / "teams.csv").write_text("team_id,name,country\nmy-club,My Club,ENG\n")
    (data_dir / "team_aliases.csv").write_text("source,country,alias,team_id\nfootball-data,ENG,My Club,my-club\n")
    copy_bundled(data_dir, E0_2223)
    write(data_dir / E0_2223, "<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>\n")
    summary = load(engine, data_dir)
    assert summary.loaded == 0 and summary.refused
    with engine.connect() as connection:
        mine = connection.execute(sa.text("SELECT count(*) FROM teams WHERE team_id = 'my-club'")).scalar_one()
        alias = connection.execute(sa.text("SELECT count(*) FROM team_aliases WHERE alias = 'My Club'")).scalar_one()
    assert (mine, alias) == (0, 0)
    copy_bundled(data_dir, E0_2223)
    assert load(engine, data_dir).loaded == 1
    with engine.connect() as connection:
        mine = connection.execute(sa.text("SELECT count(*) FROM teams WHERE team_id = 'my-club'")).scalar_one()
    assert mine == 1


def test_review_lists_decisions_and_accept_writes_the_curated_files(engine, data_dir, tmp_path):
    copy_bundled(data_dir, E0_2223, EPL_2022)
    vocab = trimmed(tmp_path / "vocab", drop_teams={"nottingham-forest"})
    load(engine, data_dir, vocab)
    listed = review.render(review.decisions(engine))
    assert "football-data \"Nott'm Forest\"" in listed and "new_team" in listed and "shared_matches" in listed
    assert review.accept(engine, vocab) == (1, 2)
    assert review.decisions(engine) == []
    accepted = Vocabulary.load(base=vocab)
    assert accepted.resolve("understat", "ENG", "Nottingham Forest") == "nottm-forest"
    assert review.accept(engine, vocab) == (0, 0)  # nothing twice


def test_next_season_drill_epl_with_understat(engine, tmp_path):
    """EPL 2016-17 to 2022-23 with football-data and Understat, every club first seen after 2016-17 taken
    out of the vocabulary: everything loads, and every curated cross-source link is found, none wrong."""
    data_dir = drill.layout(pipeline.settings.BUNDLED_DATA_DIR, tmp_path / "data", competitions=["E0"],
                            since="2016-2017")
    hidden = drill.hide_clubs(tmp_path / "vocab", drill.first_seasons(data_dir), "2016-2017")
    assert {"brighton-hove-albion", "huddersfield-town", "leeds-united", "brentford"} <= hidden
    summary = pipeline.load_directory(engine, data_dir, vocabulary_dir=tmp_path / "vocab")
    assert summary.loaded == summary.partitions == 7 and not summary.refused and not summary.sources_left_out
    report = drill.compare_links(engine, data_dir)
    assert report["links"] > 100 and report["recovered"] == report["links"] and report["wrong"] == 0, report


def test_next_season_drill_newest_bundesliga_layouts(engine, tmp_path):
    """D1 2023-24 to 2025-26 (the newest football-data layouts, Betfred's BFD columns included) with every
    club first seen after 2022-23 unknown: nothing refused."""
    data_dir = drill.layout(pipeline.settings.BUNDLED_DATA_DIR, tmp_path / "data", competitions=["D1"],
                            since="2022-2023")
    hidden = drill.hide_clubs(tmp_path / "vocab", drill.first_seasons(data_dir), "2022-2023")
    assert hidden
    summary = pipeline.load_directory(engine, data_dir, vocabulary_dir=tmp_path / "vocab")
    assert summary.loaded == summary.partitions == 4 and not summary.refused
    created = {line.split("'")[1] for line in summary.teams_resolved if ": a new club " in line}
    assert len(created) == len(hidden)


def test_clubelo_names_resolved_by_country_level_and_name(engine, tmp_path):
    """ClubElo has ratings, not matches: the EPL clubs first seen after 2016-17 (Brighton, Huddersfield,
    Newcastle, Cardiff, Fulham, Wolves...) are found by their country, the level ClubElo rates them at in
    the seasons they played, and their names; each is the club football-data's spelling created."""
    from football_pipeline.ingestion import clubelo
    from football_pipeline.warehouse import resolve

    data_dir = drill.layout(pipeline.settings.BUNDLED_DATA_DIR, tmp_path / "data", competitions=["E0"],
                            since="2016-2017", until="2018-2019")
    hidden = drill.hide_clubs(tmp_path / "vocab", drill.first_seasons(data_dir), "2016-2017")
    pipeline.load_directory(engine, data_dir, vocabulary_dir=tmp_path / "vocab")
    vocabulary = pipeline.learned_vocabulary(engine, Vocabulary.load(base=tmp_path / "vocab"))
    raw = clubelo.read_all(pipeline.settings.BUNDLED_DATA_DIR)
    _, unmapped = clubelo.map_ratings(raw, vocabulary)
    decisions, unresolved = resolve.clubelo(engine, raw, unmapped, vocabulary, clubelo.LEAGUE_COUNTRY)
    curated = Vocabulary.load()
    rated = {curated.resolve("clubelo", "ENG", club) for club in raw.loc[raw["country"] == "ENG", "club"].unique()}
    expected = hidden & rated
    assert len(expected) >= 5
    found = {curated.resolve("clubelo", "ENG", d.spelling): d.team_id for d in decisions}
    assert set(found) == expected
    for team_id, auto_id in found.items():  # the id the football-data spelling of that club created
        spelling = next(a for (s, c, a), t in curated.aliases.items() if s == "football-data" and t == team_id)
        assert vocabulary.resolve("football-data", "ENG", spelling) == auto_id
    assert all("ENG" not in line for line in unresolved)


def test_a_created_id_is_permanent_curation_cannot_give_a_second_one(engine, data_dir, tmp_path):
    copy_bundled(data_dir, E0_2223)
    vocab = trimmed(tmp_path / "vocab", drop_teams={"nottingham-forest"})
    load(engine, data_dir, vocab)
    # Later someone curates Forest under another id, for the same spelling.
    (data_dir / "teams.csv").write_text("team_id,name,country\nforest,Nottingham Forest FC,ENG\n")
    (data_dir / "team_aliases.csv").write_text("source,country,alias,team_id\nfootball-data,ENG,Nott'm Forest,forest\n")
    with pytest.raises(VocabularyError) as error:
        pipeline.load_directory(engine, data_dir, skip_unchanged=False, vocabulary_dir=vocab)
    assert "created the club 'nottm-forest'" in str(error.value) and "'forest'" in str(error.value)


def test_next_season_drill_backtest_runs_with_clubs_never_seen(tmp_path):
    """EPL 2019-20 to 2021-22 with every club first seen after 2019-20 unknown (Leeds, West Brom, Fulham,
    Brentford...): the walk-forward backtest loads, resolves and predicts every 2021-22 match, the
    new clubs' included. (The ML models here, to keep it short; bench/bench_new_clubs.py walks every model
    and scores the new clubs' first matches against the market.)"""
    from football_pipeline.modelling.backtest import BacktestConfig
    from football_pipeline.modelling.evaluate import backtest_directory

    data_dir = drill.layout(pipeline.settings.BUNDLED_DATA_DIR, tmp_path / "data", competitions=["E0"],
                            since="2019-2020", until="2021-2022")
    hidden = drill.hide_clubs(tmp_path / "vocab", drill.first_seasons(data_dir), "2019-2020")
    assert {"brentford", "leeds-united"} <= hidden
    lines: list[str] = []
    config = BacktestConfig(competition="E0", evaluation_seasons=("2021-2022",), window_seasons=2, cadence="month",
                            bayesian=False)
    result = backtest_directory(data_dir, config, vocabulary_dir=tmp_path / "vocab", log=lambda _: None,
                                progress=lines.append)
    assert not any(line.startswith(("REFUSED", "LEFT OUT")) for line in lines)
    assert any(line.startswith("TEAM football-data 'Brentford'") and "a new club 'brentford'" in line
               for line in lines)
    for model in ("dixon_coles_mle", "xgboost"):
        rows = result.predictions[result.predictions["model"] == model]
        assert len(rows) == 380 and rows[["p_home", "p_draw", "p_away"]].notna().all().all(), model
        brentford = rows[(rows["home_team"] == "brentford") | (rows["away_team"] == "brentford")]
        assert len(brentford) == 38
        # Brentford's first match (13 August 2021, at home to Arsenal): the newcomer is the weaker side.
        first = brentford.sort_values("date").iloc[0]
        assert first["home_team"] == "brentford" and first["p_home"] < first["p_away"], model


def test_cli_load_reports_decisions_and_teams_review_accept(data_dir, tmp_path, capsys):
    from football_pipeline import cli

    copy_bundled(data_dir, E0_2223)
    renamed_forest(data_dir, "Trentside Rovers")
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert cli.main(["load", "--data-dir", str(data_dir), "--warehouse-url", url]) == 0
    out = capsys.readouterr().out
    assert "TEAM football-data 'Trentside Rovers' (football-data/E0/2223.csv): a new club 'trentside-rovers'" in out
    assert cli.main(["teams", "review", "--warehouse-url", url]) == 0
    assert "'Trentside Rovers' (ENG) -> trentside-rovers (Trentside Rovers): new_team" in capsys.readouterr().out
    assert cli.main(["teams", "accept", str(data_dir), "--warehouse-url", url]) == 0
    assert "1 team(s) in teams.csv, 1 alias(es)" in capsys.readouterr().out
    assert "trentside-rovers,Trentside Rovers,ENG" in (data_dir / "teams.csv").read_text()
    assert cli.main(["teams", "review", "--warehouse-url", url]) == 0
    assert "No automatic team decisions to review." in capsys.readouterr().out
    assert cli.main(["load", "--data-dir", str(data_dir), "--warehouse-url", url, "--force"]) == 0
    assert "TEAM" not in capsys.readouterr().out  # now curated: nothing decided


def test_a_secondary_file_refused_after_it_loaded_keeps_the_partition_as_it_was(engine, data_dir):
    """Left out the first time it is seen, a secondary file is just missing; left out after it loaded, its
    rows would be dropped: the load is refused, naming the file and why."""
    copy_bundled(data_dir, E0_2223, EPL_2022)
    assert load(engine, data_dir).loaded == 1
    # La Liga's file (2019-20, moved to 2022-23's dates) saved over the EPL's.
    la_liga = (pipeline.settings.BUNDLED_DATA_DIR / "understat/La_liga/2019.json").read_bytes()
    (data_dir / EPL_2022).write_bytes(la_liga.replace(b"2019-", b"2022-").replace(b"2020-", b"2023-"))
    summary = pipeline.load_directory(engine, data_dir, skip_unchanged=False)
    assert summary.loaded == 0
    (refused,) = summary.refused
    assert "holds 380 matches loaded from understat" in refused and "file is left out" in refused
    assert "a file of another league?" in refused
    with engine.connect() as connection:
        sources = connection.execute(sa.text("SELECT count(*) FROM matches WHERE sources LIKE '%understat%'")).scalar_one()
    assert sources == 380
