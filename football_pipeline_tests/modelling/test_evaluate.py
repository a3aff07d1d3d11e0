"""The hindsight pool: the bound the benchmark prints for what pooling the ensemble's members can reach;
the CLI's account of the seasons it chose."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from football_pipeline.modelling import data, evaluate
from football_pipeline.modelling.backtest import latest_evaluation_seasons
from football_pipeline_tests.modelling.test_data import real_frame


def _long(n: int = 800, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.dirichlet([6, 3, 4], size=n)
    outcome = np.array([rng.choice(3, p=p) for p in truth])
    sharp = 0.9 * truth + 0.1 / 3  # informative, a little timid
    noise = rng.dirichlet([2, 2, 2], size=n)  # knows nothing
    rows = []
    for name, p in (("market_pre_match", sharp), ("noise", noise)):
        rows.append(pd.DataFrame({"match_id": [f"m{k}" for k in range(n)], "model": name,
                                  "p_home": p[:, 0], "p_draw": p[:, 1], "p_away": p[:, 2],
                                  "result": np.array(["H", "D", "A"])[outcome]}))
    return pd.concat(rows, ignore_index=True)


def test_the_hindsight_pool_leans_on_the_informative_member_and_never_scores_below_it():
    long = _long()
    bound = evaluate.hindsight_pool(long, ["noise", "market_pre_match"], "market_pre_match")
    assert bound.n == 800
    assert bound.weights["market_pre_match"] > 0.8 and bound.weights["noise"] < 0.2
    assert bound.loglik_gain >= -1e-9  # the reference alone is one of the pools it chose from
    assert bound.rps < bound.reference_rps + 1e-4
    alone = evaluate.hindsight_pool(long, ["market_pre_match"], "market_pre_match")
    assert alone.loglik_gain == pytest.approx(0.0, abs=1e-9) and alone.rps == pytest.approx(bound.reference_rps)


def test_matches_a_member_missed_or_without_a_result_are_left_out():
    long = _long(200)
    long = long[~((long["model"] == "noise") & (long["match_id"].isin(["m0", "m1"])))]
    long.loc[long["match_id"] == "m2", "result"] = None
    assert evaluate.hindsight_pool(long, ["noise", "market_pre_match"], "market_pre_match").n == 197
    with pytest.raises(ValueError, match="reference"):
        evaluate.hindsight_pool(long, ["noise"], "market_pre_match")



def test_the_cli_says_why_it_chose_the_latest_seasons():
    frame = real_frame()  # E0 2018-19 .. 2021-22
    opening = data.split_as_of(frame, dt.date(2021, 9, 20))
    begun = int(opening.loc[opening["season"] == "2021-2022", "result"].notna().sum())
    assert 0 < begun < 100
    seasons, as_of = latest_evaluation_seasons(opening, "E0")
    assert evaluate.latest_reason(opening, "E0", seasons, as_of) == (
        "the latest season with 100 results, and the next one's first matches "
        f"(results: 2020-2021 380, 2021-2022 {begun}; the last on 2021-09-19)")
    # Data of one season that stops after a few weeks: no season to judge on, said so.
    first = data.split_as_of(frame[frame["season"] == "2018-2019"], dt.date(2018, 9, 1))
    seasons, as_of = latest_evaluation_seasons(first, "E0")
    assert seasons == ("2018-2019",)
    assert evaluate.latest_reason(first, "E0", seasons, as_of).startswith(
        "no season has 100 results, the latest with any (2018-2019 ")
