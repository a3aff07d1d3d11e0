"""Open vocabulary: what a partition's unknown club spellings are, decided when the partition loads.

Validation gives a spelling the vocabulary does not know a provisional id (`?` + spelling) and goes
on. Here, with every source of the partition in hand, each one is decided:

* In the competition's **primary source** (the football-data season file, with its fixtures feed) a
  spelling is either a **new spelling of a known club** or a **new club**. It is the known club
  (`renamed`) when a club expected in that competition-season is absent from the file and the new name
  takes its place: that club's matches in another source of the partition are the new name's matches
  (date within a day, same side, same opponent, same score), or, with no other source, it is the only
  absent expected club whose name is alike (`common.teams.similarity`). Expected: last season's clubs
  of this competition and of the divisions above and below, where loaded, and any club a secondary
  source of the partition names. Otherwise it is a `new_team`: a canonical team whose id is its slug
  (`Vocabulary.new_team_id`), permanent from then on.
* In a **secondary source** (Understat, FBref) a spelling is the canonical team whose matches it shares
  (`shared_matches`): at least 80% of its matches found among that team's in the primary source, and
  no second team close. Name similarity never decides here. Two candidates, or none, refuse that
  source's file alone, with the best candidates and what to add to `team_aliases.csv`.

Decisions are stored (`team_resolutions`, with evidence and the file that first showed the spelling)
in the partition's load transaction, and `Vocabulary.learn` brings them back for later loads.

Division identity is checked here too, since it needs the warehouse: a primary file whose known clubs
mostly play (this season) or played (last season) another division of the country is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from football_pipeline.common import competitions
from football_pipeline.common.seasons import Season
from football_pipeline.common.teams import Team, Vocabulary, VocabularyError, new_team_id, normalise, similarity
from football_pipeline.ingestion import companions
from football_pipeline.ingestion.files import FOOTBALL_DATA
from football_pipeline.ingestion.records import Rejection
from football_pipeline.quality.validate import PROVISIONAL, ValidatedFile, is_provisional
from football_pipeline.warehouse import schema
from football_pipeline.warehouse.build import PartitionRows

PRIMARY = FOOTBALL_DATA
SHARE_NEEDED = 0.8  # a secondary spelling's matches found among one team's
SIMILAR = 0.85  # name similarity that, with the club's absence, makes a primary spelling a rename
NEW_TEAM, RENAMED, SHARED, RATED = "new_team", "renamed", "shared_matches", "clubelo_name"


@dataclass
class Decision:
    source: str
    country: str
    spelling: str
    team_id: str
    decision: str
    evidence: str
    file: str
    competition_id: str
    season: str
    team_name: str | None = None  # a new club's display name

    def describe(self) -> str:
        what = {NEW_TEAM: "a new club", RENAMED: "a new spelling of", SHARED: "the club",
                RATED: "the club"}[self.decision]
        return f"{self.source} {self.spelling!r} ({self.file}): {what} {self.team_id!r}: {self.evidence}"

    def row(self) -> dict[str, object]:
        return {"source": self.source, "country": self.country, "alias": self.spelling, "team_id": self.team_id,
                "decision": self.decision, "evidence": self.evidence, "first_seen_file": self.file,
                "competition_id": self.competition_id, "season": self.season}


@dataclass
class Context:
    """What the warehouse knows around a partition: clubs per competition, last season and this one."""

    previous: dict[str, set[str]] = field(default_factory=dict)  # competition -> clubs, the season before
    current: dict[str, set[str]] = field(default_factory=dict)  # other competitions -> clubs, this season


@dataclass
class Resolution:
    decisions: list[Decision] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # source -> why its file is not loaded
    mapping: dict[str, dict[str, str]] = field(default_factory=dict)  # source -> provisional id -> team id

    @property
    def new_teams(self) -> list[Team]:
        return [Team(d.team_id, d.team_name or d.spelling, d.country) for d in self.decisions if d.decision == NEW_TEAM]

    def summary(self) -> list[str]:
        return [d.describe() for d in self.decisions] + [f"{s}: {why}" for s, why in self.refused.items()]


def context(engine: sa.Engine, competition_id: str, season: str) -> Context:
    """Clubs of the competition's country per competition, in the season before and in this one."""
    country = competitions.get(competition_id).country
    ids = [c.competition_id for c in competitions.COMPETITIONS if c.country == country]
    previous_key = _previous(season)
    matches = schema.matches
    found = Context()
    with engine.connect() as connection:
        for team_column in (matches.c.home_team_id, matches.c.away_team_id):
            rows = connection.execute(
                sa.select(matches.c.competition_id, matches.c.season, team_column).distinct().where(
                    matches.c.competition_id.in_(ids), matches.c.season.in_([previous_key, season]))
            ).all()
            for competition, season_of, team_id in rows:
                if season_of == previous_key:
                    found.previous.setdefault(competition, set()).add(team_id)
                elif competition != competition_id:
                    found.current.setdefault(competition, set()).add(team_id)
    return found


def learned(engine: sa.Engine, vocabulary: Vocabulary) -> Vocabulary:
    """`vocabulary` plus the decisions stored by earlier loads (clubs created, spellings resolved)."""
    table, teams = schema.team_resolutions, schema.teams
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(table.c.source, table.c.country, table.c.alias, table.c.team_id, table.c.decision,
                          teams.c.name).join(teams, teams.c.team_id == table.c.team_id)
            ).all()
    except sa.exc.DBAPIError:  # not migrated yet: nothing stored
        return vocabulary
    created = [Team(team_id, name, country) for _, country, _, team_id, decision, name in rows
               if decision == NEW_TEAM]
    for source, country, alias, team_id, decision, _ in rows:
        curated = vocabulary.resolve(source, country, alias)
        if decision == NEW_TEAM and curated is not None and curated != team_id:
            raise VocabularyError(
                f"{source} spelling {alias!r} ({country}) is {curated!r} in "
                f"{vocabulary.origins.get((source, country, normalise(alias)), 'the curated files')}, but a load "
                f"created the club {team_id!r} for it: that id is in match ids and predictions and stays. Map "
                f"the spelling to {team_id!r} (football-pipeline teams accept writes it), or move "
                f"{curated!r}'s other aliases onto {team_id!r}")
    return vocabulary.learn(created, [(s, c, a, t) for s, c, a, t, _, _ in rows])


def reference_rows(rows: PartitionRows, vocabulary: Vocabulary) -> dict[str, list[dict]]:
    """What a partition's load writes to the reference tables in its own transaction: the teams its
    matches name (new clubs included), a data dir's teams and aliases, the decisions taken."""
    resolution: Resolution | None = rows.resolution
    decisions = resolution.decisions if resolution else []
    teams = {**vocabulary.teams, **{t.team_id: t for t in (resolution.new_teams if resolution else [])}}
    bundled = str(vocabulary.base / "team_aliases.csv")
    aliases = [{"source": s, "country": c, "alias": a, "team_id": t}
               for (s, c, a), t in sorted(vocabulary.aliases.items())
               if vocabulary.origins.get((s, c, a), bundled) not in (bundled, "learned")]
    aliases += [{"source": d.source, "country": d.country, "alias": d.spelling, "team_id": d.team_id}
                for d in decisions]
    named = set(rows.matches["home_team_id"]) | set(rows.matches["away_team_id"]) | {a["team_id"] for a in aliases}
    return {"teams": [{"team_id": t, "name": teams[t].name, "country": teams[t].country} for t in sorted(named)],
            "team_aliases": aliases, "team_resolutions": [d.row() for d in decisions]}


def needs_resolution(files: Iterable[ValidatedFile | None]) -> bool:
    return any(f is not None and _provisional(f.matches) for f in files)


def resolve(competition_id: str, season: str, files: dict[str, ValidatedFile], vocabulary: Vocabulary,
            known: Context | None = None) -> Resolution:
    """Decide every provisional spelling of a partition (see the module docstring), and check that the
    primary file's clubs belong to this competition. Changes nothing: `apply` rewrites the ids."""
    known = known or Context()
    country = competitions.get(competition_id).country
    resolution = Resolution()
    taken_ids = set(vocabulary.teams)
    for source, validated in files.items():
        # A spelling stored by an earlier load (after this file was validated) is known by now.
        mapping = {}
        for spelling in _provisional(validated.matches):
            team_id = vocabulary.resolve(source, country, spelling)
            if team_id is not None:
                mapping[PROVISIONAL + spelling] = team_id
        resolution.mapping[source] = mapping

    primary = files.get(PRIMARY)
    if primary is not None:
        refused = _division_identity(competition_id, season, _frame(primary, resolution.mapping[PRIMARY]), known)
        if refused:
            resolution.refused[PRIMARY] = refused
            return resolution
        secondaries = {s: _frame(v, resolution.mapping[s]) for s, v in files.items() if s != PRIMARY}
        _resolve_primary(competition_id, season, country, primary, secondaries, vocabulary, known, resolution,
                         taken_ids)
    primary_frame = _frame(primary, resolution.mapping.get(PRIMARY, {})) if primary is not None else None
    for source, validated in files.items():
        if source == PRIMARY:
            continue
        _resolve_secondary(competition_id, season, country, source, validated, primary_frame, resolution)
    return resolution


def apply(files: dict[str, ValidatedFile], resolution: Resolution) -> None:
    """Rewrite the provisional ids of the files with the decisions (in place)."""
    for source, validated in files.items():
        mapping = resolution.mapping.get(source, {})
        if mapping:
            for side in ("home_team_id", "away_team_id"):
                validated.matches[side] = validated.matches[side].map(lambda t, m=mapping: m.get(t, t))


# -- primary source -----------------------------------------------------------------------------
def _resolve_primary(competition_id: str, season: str, country: str, primary: ValidatedFile,
                     secondaries: dict[str, pd.DataFrame], vocabulary: Vocabulary, known: Context,
                     resolution: Resolution, taken_ids: set[str]) -> None:
    frame = _frame(primary, resolution.mapping[PRIMARY])
    unknown = sorted(_provisional(frame))
    if not unknown:
        return
    present = {t for t in pd.concat([frame["home_team_id"], frame["away_team_id"]]) if not is_provisional(t)}
    expected: dict[str, str] = {}  # team id -> why it is expected
    tier = competitions.get(competition_id).tier
    for other in competitions.COMPETITIONS:
        if other.country != country or abs(other.tier - tier) > 1:
            continue
        for team_id in known.previous.get(other.competition_id, set()):
            expected.setdefault(team_id, f"played {other.competition_id} {_previous(season)}")
    for source, other_frame in secondaries.items():
        for team_id in pd.concat([other_frame["home_team_id"], other_frame["away_team_id"]]).unique():
            if not is_provisional(team_id):
                expected.setdefault(team_id, f"named by this partition's {source} file")
    absent = {t: why for t, why in expected.items() if t not in present and t in vocabulary.teams}

    # Evidence first: the absent club's matches in another source are the new name's matches.
    scored: list[tuple[float, str, str, str]] = []
    for spelling in unknown:
        own = _side_rows(frame, PROVISIONAL + spelling)
        for source, other_frame in secondaries.items():
            for team_id in absent:
                agree = _agreements(own, _side_rows(other_frame, team_id))
                if agree:
                    scored.append((agree / len(own), spelling, team_id, source))
    mapping = resolution.mapping[PRIMARY]
    decided: set[str] = set()
    claimed: set[str] = set()
    for share, spelling, team_id, source in sorted(scored, reverse=True):
        if spelling in decided or team_id in claimed or share < SHARE_NEEDED:
            continue
        own = len(_side_rows(frame, PROVISIONAL + spelling))
        evidence = (f"{round(share * own)} of its {own} matches are {team_id}'s in {source} (date within a day, "
                    f"same opponent, same score); {team_id} {absent[team_id]} and is absent under a known spelling")
        _decide(resolution, PRIMARY, country, spelling, team_id, RENAMED, evidence, primary, competition_id, season)
        decided.add(spelling)
        claimed.add(team_id)
    misspelt: list[str] = []
    for spelling in unknown:
        if spelling in decided:
            continue
        alike = sorted(((similarity(spelling, vocabulary.teams[t].name), t) for t in absent if t not in claimed),
                       reverse=True)
        alike += sorted(((similarity(spelling, a), t) for (s, c, a), t in vocabulary.aliases.items()
                         if s == PRIMARY and c == country and t in absent and t not in claimed), reverse=True)
        best = max(alike, default=(0.0, ""))
        rivals = {t for score, t in alike if score >= SIMILAR and t != best[1]}
        if best[0] >= SIMILAR and not rivals:
            team_id = best[1]
            evidence = (f"{team_id} {absent[team_id]} and is absent under a known spelling; the names are alike "
                        f"(similarity {best[0]:.2f}), and no other absent club is")
            _decide(resolution, PRIMARY, country, spelling, team_id, RENAMED, evidence, primary, competition_id,
                    season)
            claimed.add(team_id)
            continue
        count, usual = len(_side_rows(frame, PROVISIONAL + spelling)), _median_matches(frame)
        if count * 2 < usual:
            misspelt.append(f"{spelling!r} plays {count} match(es) where the file's clubs play {usual:g} "
                            f"(median): a misspelling of a known club? Add it to team_aliases.csv "
                            f"({PRIMARY},{country},{spelling},<team_id>)")
            continue
        team_id = new_team_id(spelling, country, taken_ids)
        taken_ids.add(team_id)
        names = vocabulary.team_names() | {d.team_name for d in resolution.decisions if d.team_name}
        name = spelling if spelling not in names else f"{spelling} ({country})"
        closest = f"; closest absent club {best[1]} (similarity {best[0]:.2f})" if best[1] else ""
        rival_text = f"; alike absent clubs {sorted(rivals | {best[1]})}: ambiguous" if rivals else ""
        evidence = (f"first seen in {primary.parsed.path} ({competition_id} {season}); no absent expected club "
                    f"shares its matches{closest}{rival_text}")
        _decide(resolution, PRIMARY, country, spelling, team_id, NEW_TEAM, evidence, primary, competition_id, season,
                team_name=name)
    if misspelt:
        feed = primary.parsed.info.get("fixtures_feed")  # fixtures.csv rows merged into the season file
        where = f"{primary.parsed.path} (with the coming matches of {feed})" if feed else primary.parsed.path
        resolution.refused[PRIMARY] = f"{where}: " + "; ".join(misspelt)
        _quarantine(primary, [s for s in unknown if PROVISIONAL + s not in resolution.mapping[PRIMARY]],
                    "not resolved: a misspelling of a known club?")


def _decide(resolution: Resolution, source: str, country: str, spelling: str, team_id: str, decision: str,
            evidence: str, validated: ValidatedFile, competition_id: str, season: str,
            team_name: str | None = None) -> None:
    resolution.mapping.setdefault(source, {})[PROVISIONAL + spelling] = team_id
    resolution.decisions.append(Decision(source, country, spelling, team_id, decision, evidence,
                                         validated.parsed.path, competition_id, season, team_name))


# -- secondary sources --------------------------------------------------------------------------
def _resolve_secondary(competition_id: str, season: str, country: str, source: str, validated: ValidatedFile,
                       primary: pd.DataFrame | None, resolution: Resolution) -> None:
    mapping = resolution.mapping.setdefault(source, {})
    frame = _frame(validated, mapping)
    unknown = sorted(_provisional(frame))
    if not unknown:
        return
    path = validated.parsed.path
    if primary is None or primary.empty:
        resolution.refused[source] = (
            f"{path}: spelling(s) {unknown} are not in the vocabulary and this partition has no "
            f"{PRIMARY} file to resolve them against; add them to team_aliases.csv "
            f"({source},{country},<spelling>,<team_id>)")
        return
    problems: list[str] = []
    pending = list(unknown)
    for _ in range(3):  # opponents decided in one pass sharpen the next
        frame = _frame(validated, mapping)
        named = {t for t in pd.concat([frame["home_team_id"], frame["away_team_id"]]) if not is_provisional(t)}
        candidates = sorted({t for t in pd.concat([primary["home_team_id"], primary["away_team_id"]])
                             if not is_provisional(t)} - named)
        problems, still = [], []
        for spelling in pending:
            own = _side_rows(frame, PROVISIONAL + spelling)
            shares = sorted(((_agreements(own, _side_rows(primary, t)) / len(own), t) for t in candidates),
                            reverse=True)
            best = shares[0] if shares else (0.0, "")
            second = shares[1] if len(shares) > 1 else (0.0, "")
            if best[0] >= SHARE_NEEDED and second[0] < SHARE_NEEDED / 2:
                agree = round(best[0] * len(own))
                evidence = (f"{agree} of its {len(own)} matches are {best[1]}'s in {PRIMARY} (date within a day, "
                            f"same opponent where known, same score), {len(own) - agree} not; next best "
                            f"{second[1] or 'none'} {round(second[0] * len(own))}")
                _decide(resolution, source, country, spelling, best[1], SHARED, evidence, validated, competition_id,
                        season)
                candidates.remove(best[1])
                continue
            still.append(spelling)
            shown = ", ".join(f"{t} {round(s * len(own))}/{len(own)}" for s, t in shares[:3] if s > 0) or "none"
            why = "two clubs fit" if best[0] >= SHARE_NEEDED else "no club's matches fit"
            problems.append(f"{spelling!r}: {why} (matches shared with {PRIMARY}: {shown})")
        pending = still
        if not pending:
            return
    named_clubs = len(set(pd.concat([frame["home_team_id"], frame["away_team_id"]])))
    if len(pending) == len(unknown) and len(unknown) * 2 >= named_clubs:
        resolution.refused[source] = (
            f"{path}: {len(pending)} of its {named_clubs} clubs are unknown in {country} and none shares its "
            f"matches with {competition_id} {season}'s {PRIMARY} file: a file of another league? First: "
            f"{'; '.join(problems[:2])}")
    else:
        resolution.refused[source] = (
            f"{path}: team spelling(s) not resolved: {'; '.join(problems)}. Add each to team_aliases.csv "
            f"({source},{country},<spelling>,<team_id>) if it is a club of {competition_id} {season}.")
    for spelling in pending:
        mapping.pop(PROVISIONAL + spelling, None)
    _quarantine(validated, pending, "not resolved: no club of the primary source shares its matches")
    resolution.decisions = [d for d in resolution.decisions if d.source != source]


# -- ClubElo ------------------------------------------------------------------------------------
def clubelo(engine: sa.Engine, ratings: pd.DataFrame, unmapped: Iterable[str], vocabulary: Vocabulary,
            league_country: dict[str, str]) -> tuple[list[Decision], list[str]]:
    """ClubElo has ratings, not matches: an unknown ClubElo club is the warehouse club of its country
    with no ClubElo name yet that ClubElo rates at its competition's level in the seasons both cover
    (at least one, none at another level), and whose name is alike (similarity, unique). Returns the decisions and, for the clubs left
    unresolved that could be ours (a club of our countries rated in a tier we load), why: a WARN,
    never a block."""
    unmapped = set(unmapped)
    if not unmapped or ratings.empty:
        return [], []
    tiers = {c.competition_id: c.tier for c in competitions.COMPETITIONS}
    with engine.connect() as connection:
        played = connection.execute(sa.select(schema.matches.c.home_team_id, schema.matches.c.competition_id,
                                              schema.matches.c.season).distinct()).all()
    seasons: dict[str, set[tuple[str, int]]] = {}
    for team_id, competition_id, season in played:
        seasons.setdefault(team_id, set()).add((season, tiers.get(competition_id, 0)))
    named = {t for (s, _, _), t in vocabulary.aliases.items() if s == "clubelo"}
    loaded_tiers = {(c.country, c.tier) for c in competitions.COMPETITIONS}
    decisions: list[Decision] = []
    unresolved: list[str] = []
    rows = ratings[ratings["club"].isin(unmapped)]
    for (club, elo_country), own in rows.groupby(["club", "country"]):
        country = league_country.get(elo_country)
        if country is None:
            continue
        candidates = [t for t, team in vocabulary.teams.items()
                      if team.country == country and t in seasons and t not in named]
        fits = []
        for team_id in candidates:
            rated = [_rated(own, season, tier) for season, tier in seasons[team_id]]
            covered = any(r is True for r in rated) and not any(r is False for r in rated)
            names = [vocabulary.teams[team_id].name] + [a for (_, c, a), t in vocabulary.aliases.items()
                                                        if t == team_id and c == country]
            alike = max(similarity(club, name) for name in names)
            if covered and alike >= SIMILAR:
                fits.append((alike, team_id))
        if len(fits) == 1:
            alike, team_id = fits[0]
            evidence = (f"rated by ClubElo ({elo_country}) at {team_id}'s level in every season both cover; "
                        f"names alike ({alike:.2f}); the only such club of {country}")
            decisions.append(Decision("clubelo", country, club, team_id, RATED, evidence, str(own["file"].iloc[0]),
                                      "-", "-"))
            named.add(team_id)
        elif any((country, int(level)) in loaded_tiers for level in own["level"].dropna().unique()):
            why = f"{len(fits)} clubs fit: {sorted(t for _, t in fits)}" if fits else "no warehouse club fits"
            unresolved.append(f"ClubElo {club!r} ({elo_country}): {why}; add (clubelo,{country},{club},<team_id>) "
                              "to team_aliases.csv if it is one of ours")
    return decisions, unresolved


def _rated(own: pd.DataFrame, season: str, tier: int) -> bool | None:
    """Whether ClubElo rates the club at `tier` during `season`; None when it has no rating then."""
    start = pd.Timestamp(Season.from_key(season).first_day)
    end = pd.Timestamp(Season.from_key(season).last_day)
    inside = own[(own["valid_from"] <= end) & (own["valid_to"] >= start)]
    if inside.empty:
        return None
    return bool((inside["level"] == tier).any())


# -- division identity ---------------------------------------------------------------------------
def _division_identity(competition_id: str, season: str, frame: pd.DataFrame, known: Context) -> str | None:
    clubs = {t for t in pd.concat([frame["home_team_id"], frame["away_team_id"]]) if not is_provisional(t)}
    everyone = pd.concat([frame["home_team_id"], frame["away_team_id"]]).nunique()
    if not clubs:
        return None
    here = len(clubs & known.previous.get(competition_id, set()))
    for when, table in (("this season", known.current), ("last season", known.previous)):
        for other, members in sorted(table.items()):
            if other == competition_id:
                continue
            there = len(clubs & members)
            if there * 2 >= everyone and there > here:
                return (f"{there} of the file's {everyone} clubs play{'ed' if when == 'last season' else ''} {other} "
                        f"{when} and {here} {competition_id} last season: a file of {other} saved as "
                        f"{competition_id} {season}? Refused; move it to its own competition's folder")
    return None


# -- helpers -------------------------------------------------------------------------------------
def _previous(season: str) -> str:
    return Season(Season.from_key(season).start_year - 1).key


def _median_matches(frame: pd.DataFrame) -> float:
    ids = pd.concat([frame["home_team_id"], frame["away_team_id"]])
    counts = ids[~ids.map(is_provisional)].value_counts()
    return float(counts.median()) if len(counts) else 0.0


def _quarantine(validated: ValidatedFile, spellings: list[str], why: str) -> None:
    """The rows of unresolved spellings, into the file's rejections (kept in `quarantine` with the file)."""
    ids = {PROVISIONAL + s for s in spellings}
    frame = validated.matches
    rows = frame[frame["home_team_id"].isin(ids) | frame["away_team_id"].isin(ids)]
    for _, row in rows.iterrows():
        name = row["home_team"] if row["home_team_id"] in ids else row["away_team"]
        rejection = Rejection(int(row["source_row"]), row["raw_row"], f"team spelling {name!r}: {why}", "teams_known")
        feed = validated.parsed.info.get("fixtures_feed")
        validated.rejections.append(companions.fixture_rejection(rejection, str(feed)) if feed else rejection)


def _provisional(frame: pd.DataFrame) -> set[str]:
    ids = pd.concat([frame["home_team_id"], frame["away_team_id"]]).dropna().unique()
    return {t[len(PROVISIONAL):] for t in ids if is_provisional(t)}


def _frame(validated: ValidatedFile, mapping: dict[str, str]) -> pd.DataFrame:
    frame = validated.matches[["match_date", "home_team_id", "away_team_id", "home_goals", "away_goals"]].copy()
    for side in ("home_team_id", "away_team_id"):
        frame[side] = frame[side].map(lambda t: mapping.get(t, t))
    frame["match_date"] = pd.to_datetime(frame["match_date"]).dt.tz_localize(None).dt.normalize()
    return frame


def _side_rows(frame: pd.DataFrame, team_id: str) -> pd.DataFrame:
    """A club's matches as (date, is_home, opponent, goals for, goals against)."""
    home = frame[frame["home_team_id"] == team_id]
    away = frame[frame["away_team_id"] == team_id]
    return pd.concat([
        pd.DataFrame({"date": home["match_date"], "home": True, "opponent": home["away_team_id"],
                      "gf": home["home_goals"], "ga": home["away_goals"]}),
        pd.DataFrame({"date": away["match_date"], "home": False, "opponent": away["home_team_id"],
                      "gf": away["away_goals"], "ga": away["home_goals"]}),
    ], ignore_index=True)


def _agreements(own: pd.DataFrame, theirs: pd.DataFrame) -> int:
    """How many of `own`'s matches `theirs` has: same side, date within a day, same score where both have
    one, same opponent where both know it."""
    if own.empty or theirs.empty:
        return 0
    joined = own.reset_index().merge(theirs, on="home", suffixes=("", "_t"))
    close = (joined["date"] - joined["date_t"]).abs() <= pd.Timedelta(days=1)
    scored = joined["gf"].notna() & joined["gf_t"].notna()
    same_score = ~scored | ((joined["gf"] == joined["gf_t"]) & (joined["ga"] == joined["ga_t"])).fillna(False)
    known_both = ~joined["opponent"].map(is_provisional) & ~joined["opponent_t"].map(is_provisional)
    same_opponent = ~known_both | (joined["opponent"] == joined["opponent_t"])
    return int(joined.loc[close & same_score & same_opponent, "index"].nunique())
