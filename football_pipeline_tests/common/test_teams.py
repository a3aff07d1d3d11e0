"""The team vocabulary: every spelling in the bundled data resolves, and sources agree on team_ids."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from football_pipeline.common import competitions
from football_pipeline.common.teams import DATA_DIR, SOURCES, Vocabulary, VocabularyError, normalise
from football_pipeline.settings import BUNDLED_DATA_DIR

FOOTBALL_DATA_FILES = sorted((BUNDLED_DATA_DIR / "football-data").glob("*/*.csv"))
UNDERSTAT_FILES = sorted((BUNDLED_DATA_DIR / "understat").glob("*/*.json"))


def _file_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def test_bundled_data_is_there() -> None:
    # The scans below are parametrised over these lists; an empty glob must not pass silently.
    assert len(FOOTBALL_DATA_FILES) == 65
    assert len(UNDERSTAT_FILES) == 33


@pytest.mark.parametrize("path", FOOTBALL_DATA_FILES, ids=_file_id)
def test_every_football_data_spelling_resolves(path: Path, vocabulary: Vocabulary) -> None:
    country = competitions.get(path.parent.name).country
    reader = csv.DictReader(io.StringIO(_decode(path.read_bytes()), newline=""))
    spellings = set()
    for row in reader:
        for column in ("HomeTeam", "AwayTeam"):
            value = (row.get(column) or "").strip()
            if value:
                spellings.add(value)
    assert len(spellings) >= 18, f"{path}: expected a league's worth of teams, found {sorted(spellings)}"
    unresolved = sorted(s for s in spellings if vocabulary.resolve("football-data", country, s) is None)
    assert unresolved == [], f"{path}: spellings without a team_id in {country}: {unresolved}"
    # Within one league-season, distinct spellings are distinct clubs.
    team_ids = {vocabulary.resolve("football-data", country, s) for s in spellings}
    assert len(team_ids) == len(spellings)
    assert all(vocabulary.teams[t].country == country for t in team_ids)


def _understat_records(path: Path) -> list[dict]:
    document = json.loads(path.read_bytes())
    if isinstance(document, dict):
        document = document["dates"] if "dates" in document else document["datesData"]
    return document


@pytest.mark.parametrize("path", UNDERSTAT_FILES, ids=_file_id)
def test_every_understat_title_resolves(path: Path, vocabulary: Vocabulary) -> None:
    country = competitions.BY_UNDERSTAT_LEAGUE[path.parent.name].country
    titles = {record[side]["title"] for record in _understat_records(path) for side in ("h", "a")}
    assert len(titles) >= 18
    unresolved = sorted(t for t in titles if vocabulary.resolve("understat", country, t) is None)
    assert unresolved == [], f"{path}: Understat titles without a team_id in {country}: {unresolved}"
    team_ids = {vocabulary.resolve("understat", country, t) for t in titles}
    assert len(team_ids) == len(titles)


# (country, {source: spelling}) from shared/data/MANIFEST.md section 8
CROSS_SOURCE = [
    ("ENG", {"football-data": "Man City", "understat": "Manchester City", "clubelo": "Man City"}),
    ("ENG", {"football-data": "Man United", "understat": "Manchester United"}),
    ("ENG", {"football-data": "Nott'm Forest", "understat": "Nottingham Forest", "clubelo": "Forest"}),
    ("ENG", {"football-data": "Wolves", "understat": "Wolverhampton Wanderers"}),
    ("ENG", {"football-data": "West Brom", "understat": "West Bromwich Albion"}),
    ("ESP", {"football-data": "Ath Madrid", "understat": "Atletico Madrid", "fbref": "Atlético Madrid",
             "clubelo": "Atletico"}),
    ("ESP", {"football-data": "Ath Bilbao", "understat": "Athletic Club", "fbref": "Athletic Club",
             "clubelo": "Bilbao"}),
    ("ESP", {"football-data": "La Coruna", "understat": "Deportivo La Coruna", "clubelo": "Depor"}),
    ("GER", {"football-data": "M'gladbach", "understat": "Borussia M.Gladbach", "clubelo": "Gladbach"}),
    ("GER", {"football-data": "RB Leipzig", "understat": "RasenBallsport Leipzig"}),
    ("GER", {"football-data": "FC Koln", "understat": "FC Cologne", "clubelo": "Koeln"}),
    ("ITA", {"football-data": "Milan", "understat": "AC Milan"}),
    ("ITA", {"football-data": "Verona", "fbref": "Hellas Verona"}),
    ("FRA", {"football-data": "Paris SG", "understat": "Paris Saint Germain", "fbref": "Paris S-G"}),
    ("FRA", {"football-data": "St Etienne", "understat": "Saint-Etienne", "fbref": "Saint-Étienne",
             "clubelo": "Saint-Etienne"}),
    ("NED", {"football-data": "PSV Eindhoven", "clubelo": "PSV"}),
]


@pytest.mark.parametrize(("country", "spellings"), CROSS_SOURCE,
                         ids=lambda v: v if isinstance(v, str) else "")
def test_cross_source_spellings_share_a_team_id(country: str, spellings: dict[str, str],
                                                vocabulary: Vocabulary) -> None:
    resolved = {source: vocabulary.resolve(source, country, name) for source, name in spellings.items()}
    assert None not in resolved.values(), resolved
    assert len(set(resolved.values())) == 1, resolved
    assert vocabulary.teams[resolved["football-data"]].country == country


def test_aliases_are_scoped_by_country_and_source(vocabulary: Vocabulary) -> None:
    assert vocabulary.resolve("football-data", "ENG", "Man City") == "manchester-city"
    assert vocabulary.resolve("football-data", "ESP", "Man City") is None
    assert vocabulary.resolve("understat", "ENG", "Man City") is None
    assert vocabulary.resolve("no-such-source", "ENG", "Man City") is None


def test_bundled_vocabulary_is_consistent() -> None:
    teams = list(csv.DictReader((DATA_DIR / "teams.csv").open(encoding="utf-8", newline="")))
    aliases = list(csv.DictReader((DATA_DIR / "team_aliases.csv").open(encoding="utf-8", newline="")))
    team_ids = [t["team_id"] for t in teams]
    assert len(team_ids) == len(set(team_ids)), "duplicate team_id in teams.csv"
    countries = {c.country for c in competitions.COMPETITIONS}
    assert {t["country"] for t in teams} <= countries
    assert {a["source"] for a in aliases} <= set(SOURCES)
    keys = [(a["source"], a["country"], normalise(a["alias"])) for a in aliases]
    assert len(keys) == len(set(keys)), "one spelling maps to two teams"
    vocabulary = Vocabulary.load()
    assert len(vocabulary.teams) == len(teams)
    assert len(vocabulary.aliases) == len(aliases)
    assert len(vocabulary.fingerprint) == 64


# --- a data directory extends the vocabulary -------------------------------------------------------------


def _write(path: Path, header: str, *rows: str) -> None:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def test_data_dir_extends_the_vocabulary(tmp_path: Path) -> None:
    _write(tmp_path / "teams.csv", "team_id,name,country", "fc-test-city,FC Test City,ENG")
    _write(tmp_path / "team_aliases.csv", "source,country,alias,team_id",
           "football-data,ENG,Test City,fc-test-city",
           "understat,ENG,Test City Football Club,fc-test-city",
           "football-data,ENG,Man City Reserves,manchester-city")
    bundled = Vocabulary.load()
    extended = Vocabulary.load([tmp_path])
    assert bundled.resolve("football-data", "ENG", "Test City") is None
    assert extended.resolve("football-data", "ENG", "Test City") == "fc-test-city"
    assert extended.resolve("understat", "ENG", "Test City Football Club") == "fc-test-city"
    assert extended.resolve("football-data", "ENG", "Man City Reserves") == "manchester-city"
    assert extended.teams["fc-test-city"].name == "FC Test City"
    # the bundled rows are still there
    assert extended.resolve("football-data", "ENG", "Man City") == "manchester-city"
    assert len(extended.teams) == len(bundled.teams) + 1
    assert len(extended.aliases) == len(bundled.aliases) + 3
    assert extended.fingerprint != bundled.fingerprint


def test_aliases_only_data_dir_may_point_at_bundled_teams(tmp_path: Path) -> None:
    _write(tmp_path / "team_aliases.csv", "source,country,alias,team_id",
           "clubelo,ENG,Citizens,manchester-city")
    assert Vocabulary.load([tmp_path]).resolve("clubelo", "ENG", "Citizens") == "manchester-city"


def test_data_dir_without_vocabulary_files_changes_nothing(tmp_path: Path) -> None:
    assert Vocabulary.load([tmp_path]).fingerprint == Vocabulary.load().fingerprint


def test_alias_to_unknown_team_id_raises(tmp_path: Path) -> None:
    _write(tmp_path / "team_aliases.csv", "source,country,alias,team_id",
           "football-data,ENG,Nowhere,no-such-team")
    with pytest.raises(VocabularyError, match="no-such-team"):
        Vocabulary.load([tmp_path])


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("teams.csv", "team_id,name"),
        ("teams.csv", "id,name,country"),
        ("team_aliases.csv", "source,country,spelling,team_id"),
        ("team_aliases.csv", "country,source,alias,team_id"),
    ],
)
def test_wrong_header_raises(tmp_path: Path, name: str, header: str) -> None:
    _write(tmp_path / name, header, "a,b,c,d")
    with pytest.raises(VocabularyError, match="expected columns"):
        Vocabulary.load([tmp_path])


def test_unknown_source_raises(tmp_path: Path) -> None:
    _write(tmp_path / "team_aliases.csv", "source,country,alias,team_id",
           "transfermarkt,ENG,Man City,manchester-city")
    with pytest.raises(VocabularyError, match="unknown source 'transfermarkt'"):
        Vocabulary.load([tmp_path])


def test_normalise_strips_nbsp_and_surrounding_spaces(vocabulary: Vocabulary) -> None:
    assert normalise("\xa0Man City ") == "Man City"
    assert normalise("  Man\xa0 City\t") == "Man City"
    assert normalise("Man City") == "Man City"
    assert vocabulary.resolve("football-data", "ENG", "\xa0Man City\xa0") == "manchester-city"


def test_alias_file_spellings_are_normalised_on_load(tmp_path: Path) -> None:
    _write(tmp_path / "team_aliases.csv", "source,country,alias,team_id",
           "football-data,ENG,\xa0Spaced\xa0 Out ,manchester-city")
    assert Vocabulary.load([tmp_path]).resolve("football-data", "ENG", "Spaced Out") == "manchester-city"


def test_new_team_ids_are_slugs_made_unique_by_country():
    from football_pipeline.common.teams import new_team_id

    assert new_team_id("Trentside Rovers", "ENG", {"arsenal"}) == "trentside-rovers"
    assert new_team_id("Arsenal", "NED", {"arsenal"}) == "arsenal-ned"  # another country's club of that name
    assert new_team_id("Arsenal", "NED", {"arsenal", "arsenal-ned"}) == "arsenal-ned-2"
    assert new_team_id("1. FC Köln", "GER", set()) == "1-fc-koln"
