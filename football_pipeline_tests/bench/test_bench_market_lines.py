"""The market-lines bench (bench/bench_market_lines.py): its Asian-handicap settlement, its score-grid fit
and its power de-vig give the right numbers on known inputs, and it reads the real files' odds."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from football_pipeline.modelling.scoregrid import score_grid
from football_pipeline.settings import BUNDLED_DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import bench_market_lines as bench  # noqa: E402


def _grid(lam: float, mu: float) -> np.ndarray:
    return score_grid(np.array([[lam]]), np.array([[mu]]), np.array([bench.RHO]))[0, 0]


def test_handicap_weights_settle_half_whole_and_quarter_lines():
    win, push = bench.handicap_weights(np.array([-0.5, -1.0, -0.75, 0.25, np.nan]), 4)
    # -0.5: the home side must win by one
    assert win[0, 1, 0] == 1 and win[0, 1, 1] == 0 and push[0].sum() == 0
    # -1: a one-goal win is refunded, two goals win
    assert win[1, 1, 0] == 0 and push[1, 1, 0] == 1 and win[1, 2, 0] == 1
    # -0.75 = half on -0.5 (won by a one-goal win), half on -1 (refunded)
    assert win[2, 1, 0] == 0.5 and push[2, 1, 0] == 0.5 and win[2, 2, 0] == 1
    # +0.25 = half on 0 (a draw refunds), half on +0.5 (a draw wins)
    assert win[3, 1, 1] == 0.5 and push[3, 1, 1] == 0.5 and win[3, 0, 1] == 0
    # no line: no weight
    assert win[4].sum() == 0 and push[4].sum() == 0


def test_the_grid_fit_recovers_the_rates_behind_consistent_lines():
    rates = [(1.6, 0.9), (1.1, 1.4), (2.4, 0.6)]
    lines = np.array([-0.75, 0.25, -1.5])
    i, j = np.indices((11, 11))
    win, push = bench.handicap_weights(lines, 11)
    p1x2, over, cover = [], [], []
    for k, (lam, mu) in enumerate(rates):
        g = _grid(lam, mu)
        p1x2.append([g[i > j].sum(), g[i == j].sum(), g[i < j].sum()])
        over.append(g[(i + j) > 2.5].sum())
        a, b = (g * win[k]).sum(), (g * push[k]).sum()
        cover.append(a / (1 - b))
    p1x2, over, cover = np.array(p1x2), np.array(over), np.array(cover)

    for fitted in (bench.fit_rates(p1x2, over, (cover, lines)), bench.fit_rates(None, over, (cover, lines))):
        np.testing.assert_allclose(fitted, p1x2, atol=1e-6)
    # a line missing on one match leaves the fit to the others
    over[1] = np.nan
    np.testing.assert_allclose(bench.fit_rates(p1x2, over, (cover, lines)), p1x2, atol=1e-6)


def test_power_devig_sums_to_one_and_keeps_the_order():
    prices = np.array([[1.5, 4.2, 7.0], [2.9, 3.3, 2.6], [np.nan, 3.0, 3.0]])
    p = bench.power(prices)
    np.testing.assert_allclose(p[:2].sum(axis=1), 1.0)
    assert p[0, 0] > p[0, 1] > p[0, 2]
    assert np.isnan(p[2]).all()
    # the power method shades the longshot more than proportional normalisation does
    assert p[0, 2] < (1 / prices[0, 2]) / (1 / prices[0]).sum()


def test_reads_the_bundled_files_through_the_product_parser():
    matches, odds = bench.read(BUNDLED_DATA_DIR, "E0", ["2018-2019", "2019-2020"])
    assert len(matches) == 760
    pinnacle = bench.one_x_two(odds, matches["key"], "pinnacle", "opening")
    assert np.isfinite(pinnacle).all()
    # 2018-19 has Betbrain's average Asian-handicap line, 2019-20 Pinnacle's own
    cover, line = bench.two_way(odds, matches["key"], "asian_handicap", "home", "away",
                                ("pinnacle", "market_avg", "betbrain_avg"))
    assert np.isfinite(cover).all() and np.isfinite(line).all()
    assert ((cover > 0.3) & (cover < 0.7)).mean() > 0.9  # the handicap makes each side close to even
    with pytest.raises(SystemExit, match="no file"):
        bench.read(BUNDLED_DATA_DIR, "E0", ["1980-1981"])
