"""Validate parsed source files: map teams, apply the schemas, quarantine, report named checks.

Every rule yields a `CheckOutcome` (reported as a Dagster asset check by the ingestion assets). Rows
failing a row rule are quarantined with their reason and the rest go on; a check fails with ERROR
severity (which blocks the warehouse load) when the file as a whole is suspect: unknown teams, a
truncated file, or more than `max_reject_fraction` of its rows rejected by one rule.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from football_pipeline.common import competitions
from football_pipeline.common.teams import Vocabulary, normalise
from football_pipeline.ingestion.files import FBREF, FOOTBALL_DATA, UNDERSTAT, SourceFileError
from football_pipeline.ingestion.records import ParsedFile, Rejection
from football_pipeline.quality import schemas

ERROR, WARN = "ERROR", "WARN"
PROVISIONAL = "?"  # team ids starting with it are spellings awaiting resolution at load


def provisional_id(spelling: str) -> str:
    return PROVISIONAL + normalise(spelling)


def is_provisional(team_id: object) -> bool:
    return isinstance(team_id, str) and team_id.startswith(PROVISIONAL)
MAX_REJECT_FRACTION = 0.05
OUTLIER_Z = 6.0

CHECKS: dict[str, dict[str, str]] = {
    FOOTBALL_DATA: {
        "file_complete": "The file is whole (not cut off mid-row) and a finished season has all its matches.",
        "schema": "Required columns present; dates, scores, statistics and odds parse as their types.",
        "teams_known": "Every team spelling is known, or resolved at load (new club, or the club whose matches "
                       "it shares); two spellings of one file mapping to one club block.",
        "value_ranges": "Goals 0-20, statistics within physical limits, odds above 1.0, overround in sane bounds.",
        "consistency": "FTR/HTR agree with the scores, half-time goals do not exceed full-time goals, "
                       "shots on target do not exceed shots, no team plays itself.",
        "temporal": "Every date inside the season; no completed match dated in the future.",
        "no_duplicates": "Each home/away pairing appears once per season.",
        "outliers": "Statistical outliers (robust z-score above 6) are flagged, not removed.",
    },
    UNDERSTAT: {
        "file_complete": "A finished season has all its matches.",
        "schema": "The JSON layout is Understat's; every record has its keys and typed values.",
        "teams_known": "Every team spelling is known, or resolved at load (new club, or the club whose matches "
                       "it shares); two spellings of one file mapping to one club block.",
        "value_ranges": "Goals 0-20, xG 0-10, forecast probabilities 0-1.",
        "consistency": "Completed matches carry goals and xG; no team plays itself.",
        "temporal": "Every date inside the season; no completed match dated in the future.",
        "no_duplicates": "Each Understat match id and each home/away pairing appears once per season.",
        "outliers": "Statistical outliers (robust z-score above 6) are flagged, not removed.",
    },
    FBREF: {
        "file_complete": "The page is whole (not cut off) and a finished season has all its matches.",
        "schema": "The schedule table and its columns are FBref's; dates, scores and numbers parse.",
        "teams_known": "Every team spelling is known, or resolved at load (new club, or the club whose matches "
                       "it shares); two spellings of one file mapping to one club block.",
        "value_ranges": "Goals 0-20, xG 0-10, attendance 0-150,000.",
        "consistency": "Dates, links and team names agree within each row; no team plays itself.",
        "temporal": "Every date inside the season; no completed match dated in the future.",
        "no_duplicates": "Each FBref match id and each home/away pairing appears once per season.",
        "outliers": "Statistical outliers (robust z-score above 6) are flagged, not removed.",
    },
}


@dataclass
class CheckOutcome:
    name: str
    passed: bool
    severity: str
    description: str
    metadata: dict[str, object] = field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity == ERROR


@dataclass
class ValidatedFile:
    parsed: ParsedFile
    matches: pd.DataFrame  # clean rows, with home_team_id / away_team_id
    odds: pd.DataFrame | None
    issues: pd.DataFrame  # source_row, issue: lower a match's data_quality_score, do not remove it
    rejections: list[Rejection]
    outcomes: list[CheckOutcome]

    @property
    def blocked(self) -> bool:
        return any(outcome.blocks for outcome in self.outcomes)

    def blocking_reasons(self) -> list[str]:
        return [f"{o.name}: {o.description}" for o in self.outcomes if o.blocks]


def validate(parsed: ParsedFile, vocabulary: Vocabulary, today: pd.Timestamp | None = None) -> ValidatedFile:
    today = pd.Timestamp(today or pd.Timestamp.now("UTC").date()).normalize()
    run = _Run(parsed, vocabulary, today)
    if parsed.source == FOOTBALL_DATA:
        return run.football_data()
    if parsed.source == UNDERSTAT:
        return run.understat()
    if parsed.source == FBREF:
        return run.fbref()
    raise ValueError(f"no validation for source {parsed.source!r}")


_RULE_OF_ERROR = {
    "goals must be": "value_ranges",
    "xG must be": "value_ranges",
    "forecast probabilities": "value_ranges",
    "must be H, D or A": "schema",
    "cannot play itself": "consistency",
    "contradicts": "consistency",
    "more goals at half-time": "consistency",
    "has no xG": "consistency",
    "attendance must be": "value_ranges",
    "dated after today": "temporal",
}


_RULE_PRIORITY = ["schema", "value_ranges", "temporal", "consistency"]


def _rule(error: str) -> str:
    for fragment, rule in _RULE_OF_ERROR.items():
        if fragment in error:
            return rule
    return "schema"


class _Run:
    def __init__(self, parsed: ParsedFile, vocabulary: Vocabulary, today: pd.Timestamp):
        self.parsed = parsed
        self.vocabulary = vocabulary
        self.today = today
        self.country = competitions.get(parsed.competition_id).country
        self.rejections = list(parsed.rejections)
        kept = set(parsed.matches["source_row"])
        dropped = {r.source_row for r in parsed.rejections if r.source_row not in kept}
        self.rows_in = len(parsed.matches) + len(dropped)
        self.details: dict[str, list[str]] = defaultdict(list)
        for rejection in parsed.rejections:
            if rejection.check_name != "file_complete":  # reported with the file's own problems
                self.details[rejection.check_name].append(f"row {rejection.source_row}: {rejection.reason}")
        for rejection in parsed.companion_rejections:
            self.details["schema"].append(f"companion {rejection.reason}")
        self.collisions: dict[str, list[str]] = {}
        self.file_problems: list[str] = []  # found by validation: the file as a whole is suspect
        self.issues: list[tuple[int, str]] = [
            (r.source_row, "value dropped") for r in parsed.rejections if "match kept" in r.reason
        ]

    # -- shared steps -------------------------------------------------------------------------
    def reject(self, frame: pd.DataFrame, mask: pd.Series, reason: pd.Series | str, check: str) -> pd.DataFrame:
        for index in frame.index[mask]:
            text = reason if isinstance(reason, str) else str(reason[index])
            self.rejections.append(Rejection(int(frame.at[index, "source_row"]), frame.at[index, "raw_row"], text, check))
            self.details[check].append(f"row {int(frame.at[index, 'source_row'])}: {text}")
        return frame[~mask]

    def map_teams(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
        """Canonical ids for the spellings the vocabulary knows; a provisional id (`PROVISIONAL` + spelling)
        for the others, resolved when the partition loads (a new club or spelling is not bad input)."""
        source = self.parsed.source
        unknown: dict[str, int] = {}
        spellings: dict[str, set[str]] = defaultdict(set)
        for side in ("home", "away"):
            names = frame[f"{side}_team"]
            lookup = {name: self.vocabulary.resolve(source, self.country, name) for name in names.unique()}
            for name, team_id in lookup.items():
                if team_id is None:
                    unknown[name] = unknown.get(name, 0) + int((names == name).sum())
                    lookup[name] = provisional_id(name)
                else:
                    spellings[team_id].add(normalise(name))
            frame[f"{side}_team_id"] = names.map(lookup)
        self.collisions = {team_id: sorted(names) for team_id, names in spellings.items() if len(names) > 1}
        return frame, unknown

    def apply(self, schema: pa.DataFrameSchema, frame: pd.DataFrame) -> dict[int, list[str]]:
        """Index -> error messages of the schema's failed checks (empty when valid)."""
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as errors:
            failures: dict[int, list[str]] = defaultdict(list)
            cases = errors.failure_cases
            for index, column, check, value in cases[["index", "column", "check", "failure_case"]].itertuples(
                index=False, name=None
            ):
                if index is None or (isinstance(index, float) and np.isnan(index)):
                    raise SourceFileError(self.parsed.path, f"{schema.name} schema failed as a whole: "
                                                            f"column {column}: {check}") from errors
                shown = repr(value) if isinstance(value, str) else f"{value}"
                message = f"{column} {shown}: {check}"
                if message not in failures[int(index)]:
                    failures[int(index)].append(message)
            return failures
        return {}

    def reject_failures(self, frame: pd.DataFrame, failures: dict[int, list[str]]) -> pd.DataFrame:
        if not failures:
            return frame
        by_rule: dict[str, dict[int, str]] = defaultdict(dict)
        for index, messages in failures.items():
            # A row failing several rules is counted under the most fundamental one.
            rule = min((_rule(m) for m in messages), key=_RULE_PRIORITY.index)
            by_rule[rule][index] = "; ".join(messages)
        for rule, reasons in by_rule.items():
            mask = frame.index.isin(list(reasons))
            frame = self.reject(frame, pd.Series(mask, index=frame.index), pd.Series(reasons), rule)
        return frame

    def duplicates(self, frame: pd.DataFrame, keys: list[str], compare: list[str]) -> pd.DataFrame:
        """Identical repeats keep their first copy; conflicting repeats are all quarantined."""
        repeated = frame.duplicated(keys, keep=False)
        if not repeated.any():
            return frame
        identical = frame.duplicated(keys + compare, keep="first")
        frame = self.reject(frame, identical, "duplicate of an earlier identical row", "no_duplicates")
        conflicting = frame.duplicated(keys, keep=False)
        rows = frame.groupby(keys)["source_row"].transform(lambda s: ", ".join(map(str, s)))
        return self.reject(
            frame, conflicting, "pairing appears more than once with different content (rows " + rows + ")",
            "no_duplicates",
        )

    def outliers(self, frame: pd.DataFrame, columns: list[str]) -> None:
        for column in columns:
            values = frame[column].astype(float)
            median = values.median()
            mad = (values - median).abs().median() * 1.4826
            if not np.isfinite(mad) or mad == 0:
                continue
            z = (values - median) / mad
            for index in frame.index[(z.abs() > OUTLIER_Z).fillna(False)]:
                row = int(frame.at[index, "source_row"])
                self.issues.append((row, f"outlier {column}={values[index]:g}"))
                self.details["outliers"].append(f"row {row}: {column}={values[index]:g} (robust z {z[index]:.1f})")

    def outcome(self, name: str, rows_total: int, extra: dict[str, object] | None = None,
                force_error: str | None = None) -> CheckOutcome:
        """A rule's verdict. The file is suspect (ERROR) when the rule rejected more than
        `MAX_REJECT_FRACTION` of its matches; dropped optional values (a statistic, a bookmaker's
        market: "match kept") are counted apart and never make a file suspect."""
        details = self.details.get(name, [])
        records = [r for r in self.rejections if r.check_name == name]
        rejected = len({(r.source_row, r.raw_row) for r in records if not r.reason.endswith("match kept")})
        values = [r for r in records if r.reason.endswith("match kept")]
        description = CHECKS[self.parsed.source][name]
        severity = WARN
        if force_error:
            severity, description = ERROR, force_error
        elif rows_total and rejected / rows_total > MAX_REJECT_FRACTION and name != "outliers":
            severity = ERROR
            description = (f"{rejected} of {rows_total} matches rejected by {name} (over "
                           f"{MAX_REJECT_FRACTION:.0%}): the file as a whole is suspect. {description}")
        elif values:
            in_matches = len({r.source_row for r in values})
            description = (f"{len(values)} optional value(s) dropped in {in_matches} match(es), the matches kept; "
                           f"{rejected} match(es) rejected. {description}")
        passed = not details and not force_error
        metadata: dict[str, object] = {"file": self.parsed.path, "rows_rejected": rejected,
                                       "values_dropped": len(values), "findings": len(details)}
        if details:
            metadata["first_findings"] = "\n".join(details[:25])
        metadata.update(extra or {})
        return CheckOutcome(name, passed, severity, description, metadata)

    def file_complete(self, frame: pd.DataFrame, played: pd.Series) -> CheckOutcome:
        problems = list(self.parsed.file_problems) + self.file_problems
        teams = pd.unique(pd.concat([frame["home_team_id"], frame["away_team_id"]]).dropna())
        expected = len(teams) * (len(teams) - 1)
        finished = self.parsed.season.last_day < self.today.date()
        count = int(played.sum())
        if finished and expected and count < expected:
            self.details["file_complete"].append(
                f"{count} of {expected} matches played by {len(teams)} teams (season finished)"
            )
        for problem in problems:
            self.details["file_complete"].append(problem)
        force = f"{self.parsed.path}: " + "; ".join(problems) if problems else None
        return self.outcome("file_complete", 0, {"matches": count, "expected_matches": expected}, force)

    def teams_outcome(self, unknown: dict[str, int]) -> CheckOutcome:
        feed = self.parsed.info.get("fixtures_feed")  # fixtures.csv rows merged into a season file
        where = f"{self.parsed.path} (with the coming matches of {feed})" if feed else self.parsed.path
        if self.collisions:
            both = "; ".join(f"{' and '.join(repr(n) for n in names)} are both {team_id!r}"
                             for team_id, names in sorted(self.collisions.items()))
            message = (f"{where}: two {self.parsed.source} spellings in one file map to one club ({both}): "
                       "their matches would collide. Fix the alias in team_aliases.csv that maps one of them.")
            return self.outcome("teams_known", 0, {"colliding_spellings": both}, force_error=message)
        if not unknown:
            return self.outcome("teams_known", 0)
        listed = ", ".join(f"{name!r} ({count} rows)" for name, count in sorted(unknown.items()))
        self.details["teams_known"].append(f"not in the vocabulary: {listed}")
        description = (f"{where}: {self.parsed.source} spelling(s) not in the vocabulary ({self.country}): {listed}. "
                       "Resolved when the partition loads: a new club in the competition's primary source, "
                       "or the club whose matches they share in another source (the warehouse check "
                       "`teams_resolved` says what was decided).")
        outcome = self.outcome("teams_known", 0, {"unknown_spellings": sorted(unknown)})
        outcome.description = description
        return outcome

    def outcomes(self, frame: pd.DataFrame, played: pd.Series, total: int, unknown: dict[str, int],
                 schema_extra: dict | None = None, ranges_extra: dict | None = None) -> list[CheckOutcome]:
        """Every source's checks, in the order CHECKS lists them."""
        return [
            self.file_complete(frame, played),
            self.outcome("schema", total, schema_extra),
            self.teams_outcome(unknown),
            self.outcome("value_ranges", total, ranges_extra),
            self.outcome("consistency", total),
            self.outcome("temporal", total),
            self.outcome("no_duplicates", total),
            self.outcome("outliers", total),
        ]

    def finish(self, matches: pd.DataFrame, odds: pd.DataFrame | None, outcomes: list[CheckOutcome]) -> ValidatedFile:
        issues = pd.DataFrame(self.issues, columns=["source_row", "issue"])
        rejections = self.rejections + list(self.parsed.companion_rejections)
        return ValidatedFile(self.parsed, matches.reset_index(drop=True), odds, issues, rejections, outcomes)

    # -- football-data ------------------------------------------------------------------------
    def football_data(self) -> ValidatedFile:
        frame = self.parsed.matches.copy()
        total = self.rows_in
        self.division_identity(frame)
        frame, unknown = self.map_teams(frame)
        frame = self.reject_failures(frame, self.apply(schemas.football_data_matches(self.today), frame))
        frame = self.clean_stats(frame)
        frame = self.duplicates(frame, ["home_team_id", "away_team_id"],
                                [c for c in frame.columns if c not in ("source_row", "raw_row")])
        self.outliers(frame.assign(total_goals=frame["home_goals"] + frame["away_goals"]),
                      ["total_goals", "home_shots", "away_shots", "home_corners", "away_corners"])
        odds, odds_stats = self.clean_odds(frame)
        unmapped = ", ".join(self.parsed.info.get("unmapped_columns", [])) or "none"
        outcomes = self.outcomes(frame, frame["home_goals"].notna(), total, unknown,
                                 schema_extra={"unmapped_columns": unmapped}, ranges_extra=odds_stats)
        return self.finish(frame, odds, outcomes)

    def division_identity(self, frame: pd.DataFrame) -> None:
        """A season file of another division saved in this one's folder is refused (`Div` says which)."""
        if "division" not in frame or frame["division"].isna().all():
            return
        divisions = frame["division"].dropna().astype(str).str.strip()
        other = divisions[divisions != self.parsed.competition_id]
        if len(other):
            counts = ", ".join(f"{d} ({n} rows)" for d, n in other.value_counts().items())
            self.file_problems.append(
                f"its Div column names {counts}, not {self.parsed.competition_id}: a file of another competition "
                f"saved as {self.parsed.competition_id}? Move it to football-data/<Div>/"
            )

    def clean_stats(self, frame: pd.DataFrame) -> pd.DataFrame:
        long = schemas.stats_long(frame)
        dropped: dict[int, list[tuple[list[str], str, str]]] = defaultdict(list)
        for position in self.apply(schemas.football_data_stats(), long):
            index, column, value, low, high = long.loc[position, ["row", "column", "value", "low", "high"]]
            dropped[index].append(([column], f"{column} {value:g} is outside {low:g}-{high:g}", "value_ranges"))
        for side in ("home", "away"):
            shots, on_target = f"{side}_shots", f"{side}_shots_on_target"
            for index in self.apply(schemas.shots_pair(), frame[[shots, on_target]]):
                dropped[index].append(([shots, on_target], f"{on_target} {frame.at[index, on_target]} exceeds "
                                       f"{shots} {frame.at[index, shots]}", "consistency"))
        if not dropped:
            return frame
        frame = frame.copy()
        for index, problems in dropped.items():
            row = int(frame.at[index, "source_row"])
            for targets, message, rule in problems:
                frame.loc[index, targets] = pd.NA
                reason = f"{message}; value dropped, match kept"
                self.rejections.append(Rejection(row, frame.at[index, "raw_row"], reason, rule))
                self.details[rule].append(f"row {row}: {reason}")
                self.issues.append((row, f"dropped {', '.join(targets)}"))
        return frame

    def clean_odds(self, matches: pd.DataFrame) -> tuple[pd.DataFrame | None, dict[str, object]]:
        odds = self.parsed.odds
        if odds is None:
            return None, {}
        odds = odds[odds["source_row"].isin(matches["source_row"])].copy()
        group = ["source_row", "bookmaker", "market", "line", "phase"]
        outcomes_needed = np.where(odds["market"].to_numpy() == "1x2", 3, 2)
        key = odds.groupby(group, sort=False, dropna=False).ngroup()
        inverse = (1.0 / odds["price"]).where(odds["price"] > 0)
        odds["overround"] = inverse.groupby(key).transform("sum")
        complete = key.map(key.value_counts()).to_numpy() == outcomes_needed
        odds.loc[~complete, "overround"] = np.nan
        failures = self.apply(schemas.odds(), odds)
        bad_groups = set()
        raw_of_row = dict(zip(matches["source_row"], matches["raw_row"], strict=True))
        for index, messages in failures.items():
            key = tuple(odds.loc[index, group])
            if key in bad_groups:
                continue
            bad_groups.add(key)
            members = odds[(odds[group] == pd.Series(key, index=group)).all(axis=1)]
            prices = "/".join(f"{p:g}" for p in members["price"])
            reason = (f"{key[1]} {key[2]} {key[4]} prices {prices}: {'; '.join(messages)}; "
                      "market dropped, match kept")
            if "overround" in messages[0]:
                reason = (f"{key[1]} {key[2]} {key[4]} prices {prices} imply overround "
                          f"{members['overround'].iloc[0]:.3f}, outside sane bounds; market dropped, match kept")
            row = int(key[0])
            self.rejections.append(Rejection(row, raw_of_row[row], reason, "value_ranges"))
            self.details["value_ranges"].append(f"row {row}: {reason}")
            self.issues.append((row, f"dropped odds {key[1]} {key[2]} {key[4]}"))
        if bad_groups:
            keys = pd.MultiIndex.from_frame(odds[group])
            odds = odds[~keys.isin(list(bad_groups))]
        stats = {"odds_prices": len(odds), "odds_markets_dropped": len(bad_groups)}
        return odds.drop(columns=["overround"]).reset_index(drop=True), stats

    # -- Understat ----------------------------------------------------------------------------
    def understat(self) -> ValidatedFile:
        frame = self.parsed.matches.copy()
        total = self.rows_in
        season = self.parsed.season
        frame, unknown = self.map_teams(frame)
        outside = (frame["match_date"] < pd.Timestamp(season.first_day)) | (
            frame["match_date"] > pd.Timestamp(season.last_day))
        frame = self.reject(frame, outside, "date " + frame["match_date"].dt.strftime("%Y-%m-%d") +
                            f" is outside season {season} ({season.first_day}..{season.last_day})", "temporal")
        frame = self.reject_failures(frame, self.apply(schemas.understat_matches(self.today), frame))
        frame = self.reject(frame, frame.duplicated("understat_id", keep=False),
                            "Understat match id appears more than once", "no_duplicates")
        frame = self.duplicates(frame, ["home_team_id", "away_team_id"], ["understat_id"])
        self.outliers(frame.assign(total_xg=frame["home_xg"] + frame["away_xg"]), ["total_xg"])
        return self.finish(frame, None, self.outcomes(frame, frame["is_result"], total, unknown))

    # -- FBref ---------------------------------------------------------------------------------
    def fbref(self) -> ValidatedFile:
        frame = self.parsed.matches.copy()
        total = self.rows_in
        frame, unknown = self.map_teams(frame)
        frame = self.reject_failures(frame, self.apply(schemas.fbref_matches(self.today), frame))
        with_id = frame["fbref_match_id"].notna()
        frame = self.reject(frame, with_id & frame.duplicated("fbref_match_id", keep=False),
                            "FBref match id appears more than once", "no_duplicates")
        frame = self.duplicates(frame, ["home_team_id", "away_team_id"], ["fbref_match_id", "match_date"])
        self.outliers(frame.assign(total_goals=frame["home_goals"] + frame["away_goals"]), ["total_goals"])
        tables = ", ".join(self.parsed.info.get("tables", []))
        outcomes = self.outcomes(frame, frame["home_goals"].notna(), total, unknown, schema_extra={"tables": tables})
        return self.finish(frame, None, outcomes)
