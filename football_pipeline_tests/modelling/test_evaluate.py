"""The hindsight pool: the bound the benchmark prints for what pooling the ensemble's members can reach."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from football_pipeline.modelling import evaluate


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
