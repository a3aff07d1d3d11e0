"""ClubElo rating histories and snapshots."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from football_pipeline.common.teams import Vocabulary
from football_pipeline.ingestion import clubelo
from football_pipeline.ingestion.files import SourceFileError
from football_pipeline.settings import BUNDLED_DATA_DIR

CLUBELO = BUNDLED_DATA_DIR / "clubelo"
HISTORIES = sorted((CLUBELO / "teams-before-2023-07-01").glob("*.csv"))
SNAPSHOTS = sorted((CLUBELO / "snapshots").glob("*.csv"))


def raw(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def test_parse_arsenal_history() -> None:
    path = CLUBELO / "teams-before-2023-07-01" / "Arsenal.csv"
    rows = raw(path)
    parsed = clubelo.parse(path.read_bytes(), str(path))
    assert list(parsed.columns) == ["club", "country", "level", "elo", "valid_from", "valid_to"]
    assert len(parsed) == len(rows) == 6249
    assert set(parsed["club"]) == {"Arsenal"} and set(parsed["country"]) == {"ENG"}
    assert parsed["elo"].tolist() == [float(r["Elo"]) for r in rows]
    assert parsed["valid_from"].tolist() == [pd.Timestamp(r["From"]) for r in rows]
    assert parsed["valid_to"].tolist() == [pd.Timestamp(r["To"]) for r in rows]
    assert parsed["valid_from"].iloc[0] == pd.Timestamp("1946-07-07")
    assert (parsed["valid_from"] <= parsed["valid_to"]).all()


@pytest.fixture(scope="module")
def ratings() -> tuple[pd.DataFrame, list[str]]:
    return clubelo.read_directory(BUNDLED_DATA_DIR, Vocabulary.load())


def test_read_directory_maps_the_twenty_history_clubs(ratings, vocabulary: Vocabulary) -> None:
    frame, unmapped = ratings
    assert len(HISTORIES) == 20
    assert list(frame.columns) == ["team_id", "valid_from", "valid_to", "elo"]
    history_team_ids = set()
    for path in HISTORIES:
        rows = raw(path)
        club, country = rows[0]["Club"], rows[0]["Country"]
        team_id = vocabulary.resolve("clubelo", "ENG", club)
        assert team_id is not None, f"{path.name}: ClubElo club {club!r} ({country}) has no team_id"
        assert club not in unmapped
        history_team_ids.add(team_id)
        # the history wins over snapshots: the team's rows are exactly the history's rows
        own = frame[frame.team_id == team_id]
        assert len(own) == len({r["From"] for r in rows}), path.name
        expected = {pd.Timestamp(r["From"]): float(r["Elo"]) for r in rows}
        assert dict(zip(own["valid_from"], own["elo"], strict=True)) == expected
    assert len(history_team_ids) == 20
    assert {"arsenal", "manchester-city", "wolverhampton-wanderers"} <= history_team_ids


def test_read_directory_keeps_no_duplicates(ratings) -> None:
    frame, _ = ratings
    assert not frame.duplicated(["team_id", "valid_from"]).any()
    assert frame["team_id"].notna().all()


def test_snapshots_fill_in_clubs_without_history(ratings, vocabulary: Vocabulary) -> None:
    frame, _ = ratings
    snapshot_rows = [row for path in SNAPSHOTS for row in raw(path)]
    madrid = [r for r in snapshot_rows if r["Club"] == "Real Madrid"]
    assert madrid
    team_id = vocabulary.resolve("clubelo", "ESP", "Real Madrid")
    own = frame[frame.team_id == team_id]
    assert set(own["valid_from"]) == {pd.Timestamp(r["From"]) for r in madrid}
    assert set(own["elo"]) == {float(r["Elo"]) for r in madrid}


def test_clubs_outside_our_leagues_are_returned_not_fatal(ratings, vocabulary: Vocabulary) -> None:
    frame, unmapped = ratings
    snapshot_clubs = {(r["Club"], r["Country"]) for path in SNAPSHOTS for r in raw(path)}
    assert unmapped == sorted(unmapped) and len(unmapped) == len(set(unmapped))
    assert len(unmapped) > 100
    # every unmapped club comes from the snapshots, and none of its spellings resolves in its league country
    for club in unmapped:
        countries = {country for name, country in snapshot_clubs if name == club}
        assert countries, club
        for country in countries:
            assert vocabulary.resolve("clubelo", clubelo.LEAGUE_COUNTRY.get(country, ""), club) is None
    by_country = {name: country for name, country in snapshot_clubs}
    assert {"AEK", "Aberdeen"} <= set(unmapped)
    assert by_country["AEK"] == "GRE" and by_country["Aberdeen"] == "SCO"


def test_directory_without_clubelo(tmp_path: Path) -> None:
    frame, unmapped = clubelo.read_directory(tmp_path, Vocabulary.load())
    assert frame.empty and unmapped == []


def test_directory_with_one_history(tmp_path: Path) -> None:
    target = tmp_path / "clubelo" / "teams-before-2023-07-01"
    target.mkdir(parents=True)
    shutil.copyfile(CLUBELO / "teams-before-2023-07-01" / "Wolves.csv", target / "Wolves.csv")
    frame, unmapped = clubelo.read_directory(tmp_path, Vocabulary.load())
    assert set(frame["team_id"]) == {"wolverhampton-wanderers"}
    assert len(frame) == len(raw(target / "Wolves.csv"))
    assert unmapped == []


def test_missing_elo_column() -> None:
    text = (CLUBELO / "teams-before-2023-07-01" / "Arsenal.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    index = rows[0].index("Elo")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r[:index] + r[index + 1:] for r in rows])
    with pytest.raises(SourceFileError, match=r"missing ClubElo column\(s\) \['Elo'\]") as error:
        clubelo.parse(out.getvalue().encode(), "clubelo/Arsenal.csv")
    assert "clubelo/Arsenal.csv" in str(error.value)


def test_unreadable_elo_names_the_line() -> None:
    lines = (CLUBELO / "teams-before-2023-07-01" / "Arsenal.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[4], "n/a")
    with pytest.raises(SourceFileError, match="first: line 4"):
        clubelo.parse("\n".join(lines).encode(), "Arsenal.csv")
