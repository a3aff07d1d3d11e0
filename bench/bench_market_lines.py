"""How good is each pre-match market line as a forecast, and can the other pre-match markets improve it?

    .venv/bin/python bench/bench_market_lines.py [--competition E0] [--tune 2014-2015,...]
                                                 [--evaluate 2018-2019,...] [--data-dir DIR]

The ensemble is given one pre-match market input (Pinnacle's opening 1X2 prices, Shin-de-vigged); the
ensemble target asks for 0.0002 better than that line. This bench measures, on the same matches, what
any other honest pre-match input would score on its own, so a choice among them is made on the tuning
seasons, never on the evaluation seasons:

- every bookmaker's opening 1X2 line, de-vigged by Shin, proportionally and by the power method;
- consensus lines (the mean of several bookmakers' Shin probabilities);
- the opening Asian-handicap and over/under 2.5 prices (Pinnacle's where the file has them, else the
  Betbrain average), turned into 1X2 by fitting the two scoring rates of a Dixon-Coles score grid to
  each match's de-vigged lines (least squares on the log-odds, with or without the 1X2 line);
- the closing Pinnacle line as the reference (the evaluation baseline, never a model input).

Files are read with the product's own football-data parser (`ingestion.football_data.parse`), so the
odds are the rows the warehouse would hold. Prints RPS (and log loss) per line on both periods.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from football_pipeline.common.seasons import Season  # noqa: E402
from football_pipeline.ingestion import football_data  # noqa: E402
from football_pipeline.modelling import market, metrics  # noqa: E402
from football_pipeline.modelling.scoregrid import score_grid  # noqa: E402
from football_pipeline.settings import BUNDLED_DATA_DIR  # noqa: E402

TUNING = ("2014-2015", "2015-2016", "2016-2017", "2017-2018")
EVALUATION = ("2018-2019", "2019-2020", "2020-2021", "2021-2022", "2022-2023")
OUTCOMES = ("home", "draw", "away")
RHO = -0.05  # a typical Dixon-Coles low-score correction; the fits are insensitive to it at this scale


def read(data_dir: Path, competition: str, seasons: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Matches (one row per played match, `key` = season:source_row) and their odds in long form."""
    matches, odds = [], []
    for key in seasons:
        season = Season.from_key(key)
        path = data_dir / "football-data" / competition / f"{season.football_data_code}.csv"
        if not path.exists():
            raise SystemExit(f"{competition} {key}: no file {path}")
        parsed = football_data.parse(path.read_bytes(), path=str(path), competition_id=competition, season=season)
        m = parsed.matches[parsed.matches["result"].isin(["H", "D", "A"])].copy()
        m["key"] = key + ":" + m["source_row"].astype(str)
        m["season"] = key
        o = parsed.odds[parsed.odds["phase"].isin(["opening", "closing"])].copy()
        o["key"] = key + ":" + o["source_row"].astype(str)
        matches.append(m[["key", "season", "match_date", "home_team", "away_team", "result"]])
        odds.append(o)
    return pd.concat(matches, ignore_index=True), pd.concat(odds, ignore_index=True)


def one_x_two(odds: pd.DataFrame, keys: pd.Series, bookmaker: str, phase: str) -> np.ndarray:
    """(matches, 3) decimal prices of one bookmaker's 1X2 line in `phase`; NaN where missing."""
    chosen = odds[(odds["market"] == "1x2") & (odds["bookmaker"] == bookmaker) & (odds["phase"] == phase)]
    wide = chosen.pivot_table(index="key", columns="outcome", values="price", aggfunc="first")
    return wide.reindex(index=keys, columns=list(OUTCOMES)).to_numpy(dtype=float, copy=True)


def power(prices: np.ndarray) -> np.ndarray:
    """The power method: p_i = (1/o_i)^k with k chosen so the row sums to one."""
    out = np.full(prices.shape, np.nan)
    for row, odds in enumerate(prices):
        if not np.all(np.isfinite(odds)) or np.any(odds <= 1.0):
            continue
        inverse = 1.0 / odds
        if inverse.sum() <= 1.0:
            out[row] = inverse / inverse.sum()
            continue
        k = brentq(lambda k, inv=inverse: (inv**k).sum() - 1.0, 1.0, 5.0)
        out[row] = inverse**k
    return out


def two_way(odds: pd.DataFrame, keys: pd.Series, market_name: str, first: str, second: str,
            bookmakers: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The proportionally de-vigged probability of `first` and the line, from the first bookmaker in
    `bookmakers` that prices the match (opening prices)."""
    p = np.full(len(keys), np.nan)
    line = np.full(len(keys), np.nan)
    chosen = odds[(odds["market"] == market_name) & (odds["phase"] == "opening")]
    for bookmaker in reversed(bookmakers):  # the first listed wins: it is written last
        rows = chosen[chosen["bookmaker"] == bookmaker]
        wide = rows.pivot_table(index="key", columns="outcome", values="price", aggfunc="first")
        lines = rows.groupby("key")["line"].first()
        if first not in wide or second not in wide:
            continue
        q = market.proportional(wide.reindex(keys)[[first, second]].to_numpy(dtype=float))[:, 0]
        ok = np.isfinite(q)
        p[ok] = q[ok]
        line[ok] = lines.reindex(keys).to_numpy()[ok]
    return p, line


def handicap_weights(lines: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per match, the weight of each score on a home Asian-handicap bet winning and being refunded.
    Quarter lines split the stake over the two neighbouring lines."""
    i, j = np.indices((size, size))
    difference = (i - j)[None]
    win = np.zeros((len(lines), size, size))
    push = np.zeros((len(lines), size, size))
    for k, h in enumerate(lines):
        if not np.isfinite(h):
            continue
        halves = (h,) if round(h * 4) % 2 == 0 else (h - 0.25, h + 0.25)
        for x in halves:
            win[k] += (difference[0] + x > 0) / len(halves)
            push[k] += np.isclose(difference[0] + x, 0) / len(halves)
    return win, push


def fit_rates(p1x2: np.ndarray | None, p_over: np.ndarray | None, ah: tuple | None,
              iterations: int = 40, max_goals: int = 10) -> np.ndarray:
    """1X2 probabilities of the Dixon-Coles grid whose rates best match each match's de-vigged lines:
    Levenberg-Marquardt on the log-odds residuals, all matches at once."""
    n = len(next(x for x in (p1x2, p_over, ah[0] if ah else None) if x is not None))
    size = max_goals + 1
    i, j = np.indices((size, size))
    over = (i + j) > 2.5
    win, push = handicap_weights(ah[1], size) if ah else (None, None)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731

    def residuals(x: np.ndarray) -> np.ndarray:
        grid = score_grid(np.exp(x[:, 0])[None], np.exp(x[:, 1])[None], np.array([RHO]), max_goals)[0]
        parts = []
        if p1x2 is not None:
            home = (grid * (i > j)).sum(axis=(1, 2))
            away = (grid * (i < j)).sum(axis=(1, 2))
            parts += [logit(home) - logit(p1x2[:, 0]), logit(away) - logit(p1x2[:, 2])]
        if p_over is not None:
            parts.append(np.nan_to_num(logit((grid * over).sum(axis=(1, 2))) - logit(p_over)))
        if ah is not None:
            a = (grid * win).sum(axis=(1, 2))
            b = (grid * push).sum(axis=(1, 2))
            parts.append(np.nan_to_num(logit(a / (1 - b)) - logit(ah[0])))
        return np.stack(parts, axis=1)

    x = np.tile(np.log([1.5, 1.15]), (n, 1))
    damping = np.full(n, 1e-3)
    r = residuals(x)
    for _ in range(iterations):
        eps = 1e-5
        jac = np.stack([(residuals(x + eps * np.eye(2)[k]) - r) / eps for k in range(2)], axis=2)
        jtj = np.einsum("nrk,nrl->nkl", jac, jac) + damping[:, None, None] * np.eye(2)
        step = -np.linalg.solve(jtj, np.einsum("nrk,nr->nk", jac, r)[..., None])[..., 0]
        candidate = np.clip(x + step, np.log(0.05), np.log(6.0))
        r_new = residuals(candidate)
        better = (r_new**2).sum(1) < (r**2).sum(1)
        x[better], r[better] = candidate[better], r_new[better]
        damping = np.where(better, damping / 3, damping * 4)
    grid = score_grid(np.exp(x[:, 0])[None], np.exp(x[:, 1])[None], np.array([RHO]), max_goals)[0]
    return np.stack([(grid * (i > j)).sum((1, 2)), (grid * (i == j)).sum((1, 2)), (grid * (i < j)).sum((1, 2))], 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=BUNDLED_DATA_DIR)
    parser.add_argument("--competition", default="E0")
    parser.add_argument("--tune", default=",".join(TUNING))
    parser.add_argument("--evaluate", default=",".join(EVALUATION))
    args = parser.parse_args()
    tune, evaluate = args.tune.split(","), args.evaluate.split(",")
    started = time.perf_counter()
    matches, odds = read(args.data_dir, args.competition, tune + evaluate)
    keys = matches["key"]
    outcomes = metrics.outcome_index(matches["result"])
    periods = {"tune": matches["season"].isin(tune).to_numpy(), "evaluate": matches["season"].isin(evaluate).to_numpy()}
    print(f"{args.competition}: {len(matches)} matches ({periods['tune'].sum()} tuning, "
          f"{periods['evaluate'].sum()} evaluation), read in {time.perf_counter() - started:.1f} s")

    rows = []

    def record(name: str, p: np.ndarray) -> None:
        row = {"line": name}
        for period, mask in periods.items():
            covered = mask & np.all(np.isfinite(p), axis=1)
            row[f"{period}_matches"] = int(covered.sum())
            row[f"{period}_rps"] = metrics.rps(p[covered], outcomes[covered]).mean() if covered.any() else np.nan
            row[f"{period}_log_loss"] = (metrics.log_loss(p[covered], outcomes[covered]).mean()
                                         if covered.any() else np.nan)
        rows.append(row)

    closing = market.shin(one_x_two(odds, keys, "pinnacle", "closing"))
    record("pinnacle closing (reference, Shin)", closing)
    opening = odds[(odds["market"] == "1x2") & (odds["phase"] == "opening")]
    shin_by_book = {}
    for bookmaker in sorted(opening["bookmaker"].unique()):
        prices = one_x_two(odds, keys, bookmaker, "opening")
        if np.isfinite(prices).all(axis=1).sum() < 0.9 * len(keys):
            continue  # not published over (most of) these seasons
        shin_by_book[bookmaker] = market.shin(prices)
        record(f"{bookmaker} opening, Shin", shin_by_book[bookmaker])
        record(f"{bookmaker} opening, proportional", market.proportional(prices))
        record(f"{bookmaker} opening, power", power(prices))
    # The files' market average: football-data's own from 2019-20, Betbrain's before.
    average = one_x_two(odds, keys, "market_avg", "opening")
    missing = ~np.isfinite(average).all(axis=1)
    average[missing] = one_x_two(odds, keys, "betbrain_avg", "opening")[missing]
    if np.isfinite(average).all(axis=1).sum() >= 0.9 * len(keys):
        record("market average opening (Betbrain's before 2019-20), Shin", market.shin(average))
        record("market average opening (Betbrain's before 2019-20), proportional", market.proportional(average))
        record("market average opening (Betbrain's before 2019-20), power", power(average))
    single = [b for b in shin_by_book if b not in ("market_max", "betbrain_max", "market_avg", "betbrain_avg")]
    if len(single) > 1:
        record(f"consensus of {len(single)} lines, Shin", np.nanmean(np.stack([shin_by_book[b] for b in single]), 0))

    started = time.perf_counter()
    pinnacle = shin_by_book.get("pinnacle")
    totals_books = ("pinnacle", "market_avg", "betbrain_avg")
    p_over, _ = two_way(odds, keys, "over_under", "over", "under", totals_books)
    p_cover, handicap = two_way(odds, keys, "asian_handicap", "home", "away", totals_books)
    if pinnacle is not None:
        record("grid fit: pinnacle 1X2 alone", fit_rates(pinnacle, None, None))
        record("grid fit: 1X2 + over/under 2.5", fit_rates(pinnacle, p_over, None))
        record("grid fit: 1X2 + over/under + Asian handicap", fit_rates(pinnacle, p_over, (p_cover, handicap)))
    record("grid fit: over/under + Asian handicap, no 1X2", fit_rates(None, p_over, (p_cover, handicap)))
    print(f"score-grid fits in {time.perf_counter() - started:.1f} s "
          f"(over/under on {np.isfinite(p_over).sum()}, handicap on {np.isfinite(p_cover).sum()} matches)\n")

    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.float_format", "{:.5f}".format):
        print(table.to_string(index=False))
    best = table.iloc[1:].sort_values("tune_rps").iloc[0]
    print(f"\nbest pre-match line on the tuning seasons: {best['line']} "
          f"(tune {best['tune_rps']:.5f}, evaluate {best['evaluate_rps']:.5f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
