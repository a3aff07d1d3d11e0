"""Open vocabulary, measured: next season's clubs found without anyone editing the vocabulary.

Removes from the curated vocabulary every club first seen (in the bundled football-data files) after a
cut-off season, with all its aliases in every source, loads the bundled data into a fresh SQLite
warehouse, and compares what the load decided with the curated mapping:

* cross-source links: in each partition where two match sources overlap (football-data with Understat
  or FBref), every pair of spellings the curated vocabulary maps to one club must land on one club
  (recovered), and no pair of spellings of two clubs may (wrong);
* decisions: how many spellings became new clubs, renames and shared-match aliases.

    .venv/bin/python bench/bench_team_resolution.py                  # every bundled league, cut-off 2018-2019
    .venv/bin/python bench/bench_team_resolution.py --competitions E0 --cutoff 2016-2017

Target (issue 25): 100% of the curated links recovered, 0 wrong.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from football_pipeline import settings  # noqa: E402
from bench.drill import (  # noqa: E402
    compare_links,
    first_seasons,
    hide_clubs,
    layout,
)
from football_pipeline.pipeline import load_directory  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoff", default="2018-2019", help="clubs first seen after this season are removed")
    parser.add_argument("--competitions", nargs="*", default=None, help="default: every bundled competition")
    parser.add_argument("--since", default="2014-2015", help="first season loaded")
    args = parser.parse_args(argv)

    source = settings.BUNDLED_DATA_DIR
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data_dir = layout(source, work / "data", competitions=args.competitions, since=args.since)
        first = first_seasons(data_dir)
        hidden = hide_clubs(work / "vocabulary", first, args.cutoff)
        started = time.perf_counter()
        engine = sa.create_engine(f"sqlite:///{work / 'warehouse.sqlite'}")
        summary = load_directory(engine, data_dir, vocabulary_dir=work / "vocabulary")
        seconds = time.perf_counter() - started
        report = compare_links(engine, data_dir)
        elo = clubelo_links(engine, work / "vocabulary", hidden)
        shutil.rmtree(work / "data", ignore_errors=True)

    print(f"cut-off {args.cutoff}: {len(hidden)} clubs removed from the vocabulary "
          f"({', '.join(sorted(hidden)[:12])}{', ...' if len(hidden) > 12 else ''})")
    no_primary = [line for line in summary.refused if "has no football-data file" in line]
    refused = [line for line in summary.refused if line not in no_primary]
    print(f"loaded {summary.loaded} of {summary.partitions} partitions in {seconds:.1f} s; refused {len(refused)}; "
          f"secondary files left out {len(summary.sources_left_out)}; {len(no_primary)} partitions with a new club "
          "and no football-data file to resolve it against (not measured: no primary source)")
    for line in refused + summary.sources_left_out:
        print("  !", line[:300])
    kinds: dict[str, int] = {}
    for line in summary.teams_resolved:
        for kind in ("a new club", "a new spelling of", "the club"):
            if f": {kind} " in line:
                kinds[kind] = kinds.get(kind, 0) + 1
                break
    print(f"decisions: {kinds}")
    print(f"cross-source links: {report['recovered']} of {report['links']} recovered "
          f"({report['recovered'] / max(report['links'], 1):.1%}), {report['wrong']} wrong")
    for line in report["missed"][:20] + report["wrong_pairs"][:20]:
        print("  -", line)
    print(f"ClubElo (ratings, not matches: country, level in the seasons played, name): {elo['right']} of "
          f"{elo['rated']} removed clubs with a ClubElo rating found, {elo['wrong']} wrong; "
          f"{elo['unresolved']} ClubElo names left as WARN")
    return 0 if report["recovered"] == report["links"] and not report["wrong"] and not refused else 1


def clubelo_links(engine, vocabulary_dir: Path, hidden: set[str]) -> dict[str, int]:
    """The removed clubs' ClubElo names, resolved as the elo_ratings asset does, against the curated ones."""
    from football_pipeline.common.teams import Vocabulary
    from football_pipeline.ingestion import clubelo
    from football_pipeline.pipeline import learned_vocabulary
    from football_pipeline.warehouse import resolve

    vocabulary = learned_vocabulary(engine, Vocabulary.load(base=vocabulary_dir))
    raw = clubelo.read_all(settings.BUNDLED_DATA_DIR)
    _, unmapped = clubelo.map_ratings(raw, vocabulary)
    decisions, unresolved = resolve.clubelo(engine, raw, unmapped, vocabulary, clubelo.LEAGUE_COUNTRY)
    curated = Vocabulary.load()
    right = wrong = 0
    for decision in decisions:
        truth = curated.resolve("clubelo", decision.country, decision.spelling)
        spellings = [a for (s, c, a), t in curated.aliases.items() if s == "football-data" and t == truth]
        if any(vocabulary.resolve("football-data", decision.country, a) == decision.team_id for a in spellings):
            right += 1
        else:
            wrong += 1
    # Measurable: a removed club whose ClubElo rows cover at least one season it played in the warehouse.
    with engine.connect() as connection:
        played = connection.execute(sa.text(
            "SELECT DISTINCT m.home_team_id, m.season, c.tier FROM matches m JOIN competitions c "
            "USING (competition_id)")).all()
    seasons: dict[str, set[tuple[str, int]]] = {}
    for team_id, season, tier in played:
        seasons.setdefault(team_id, set()).add((season, tier))
    measurable = set()
    for (source, country, club), team_id in curated.aliases.items():
        if source != "clubelo" or team_id not in hidden:
            continue
        own = raw[raw["club"] == club]
        autos = {vocabulary.resolve("football-data", country, a) for (s, c, a), t in curated.aliases.items()
                 if s == "football-data" and t == team_id}
        if any(resolve._rated(own, season, tier) is not None
               for auto in autos if auto for season, tier in seasons.get(auto, ())):
            measurable.add(team_id)
    return {"rated": len(measurable), "right": right, "wrong": wrong, "unresolved": len(unresolved)}


if __name__ == "__main__":
    sys.exit(main())
