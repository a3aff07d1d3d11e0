"""The Bayesian Dixon-Coles model on real Premier League results (small sampler settings)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from football_pipeline.common.seasons import Season
from football_pipeline.common.teams import Vocabulary
from football_pipeline.ingestion import football_data
from football_pipeline.modelling import metrics
from football_pipeline.modelling.data import with_promoted
from football_pipeline.modelling.dixon_coles import (
    BayesianDixonColes,
    DixonColesConfig,
    _diagnostics,
    predict,
    score_matrices,
)
from football_pipeline.quality.validate import validate
from football_pipeline.settings import BUNDLED_DATA_DIR
from football_pipeline_tests.conftest import TODAY


def season_matches(code: str) -> pd.DataFrame:
    relative = f"football-data/E0/{code}.csv"
    season = Season.from_football_data_code(code)
    parsed = football_data.parse((BUNDLED_DATA_DIR / relative).read_bytes(), path=relative, competition_id="E0",
                                 season=season)
    frame = validate(parsed, Vocabulary.load(), pd.Timestamp(TODAY)).matches
    return frame.assign(season=season.key)[["match_date", "season", "home_team_id", "away_team_id",
                                            "home_goals", "away_goals"]]


@pytest.fixture(scope="module")
def fitted():
    matches = pd.concat([season_matches("2122"), season_matches("2223")], ignore_index=True)
    model = BayesianDixonColes(DixonColesConfig(num_warmup=300, num_samples=300, num_chains=2, warm_warmup=100))
    as_of = dt.date(2023, 3, 1)
    return matches, model, model.fit(matches, as_of), as_of


def test_fit_converges_and_ranks_the_teams_as_the_table_did(fitted):
    matches, _, posterior, as_of = fitted
    assert posterior.diagnostics["r_hat_max"] < 1.05 and posterior.diagnostics["divergences"] == 0
    assert posterior.n_matches == int((pd.to_datetime(matches["match_date"]) < pd.Timestamp(as_of)).sum())
    strength = dict(zip(posterior.teams, posterior.samples["attack"].mean(0) - posterior.samples["defence"].mean(0),
                        strict=True))
    best = sorted(strength, key=strength.get, reverse=True)[:3]
    assert "manchester-city" in best and "arsenal" in best + sorted(strength, key=strength.get, reverse=True)[3:4]
    assert np.abs(posterior.samples["attack"].mean(0).sum()) < 1e-4  # sum to zero
    assert posterior.samples["home_advantage"].mean() > 0 and -0.25 < posterior.samples["rho"].mean() < 0.1


def test_predictions_are_proper_and_beat_a_uniform_forecast(fitted):
    matches, _, posterior, as_of = fitted
    later = matches[pd.to_datetime(matches["match_date"]) >= pd.Timestamp(as_of)].head(60)
    out = predict(posterior, list(later["home_team_id"]), list(later["away_team_id"]), "2022-2023")
    p = out[["p_home", "p_draw", "p_away"]].to_numpy()
    assert np.allclose(p.sum(axis=1), 1) and (out["p_home_lo"] <= out["p_home"]).all()
    assert (out["p_home"] <= out["p_home_hi"]).all()
    result = np.sign(later["home_goals"].to_numpy() - later["away_goals"].to_numpy())
    y = np.where(result > 0, 0, np.where(result == 0, 1, 2))
    assert metrics.rps(p, y).mean() < metrics.rps(np.full_like(p, 1 / 3), y).mean()


def test_warm_refit_reuses_the_sampler_and_still_converges(fitted):
    matches, model, _, as_of = fitted
    posterior = model.fit(matches, as_of + dt.timedelta(days=7), warm=True)
    assert posterior.diagnostics["r_hat_max"] < 1.05
    unknown = predict(posterior, ["a-team-never-seen"], ["manchester-city"])
    assert unknown["p_away"].iloc[0] > unknown["p_home"].iloc[0]


def _chains(rng, shift=0.0, spread=1.0, chains=4, draws=500) -> dict[str, np.ndarray]:
    """Independent draws for every site `_diagnostics` reads; the attack of slot 0 gets chain-specific
    locations (chain k shifted by k * shift) or spreads (chain k scaled by spread ** k)."""
    sites = {k: rng.standard_normal((chains, draws)) for k in (
        "intercept", "rho", "sigma_attack", "sigma_defence", "home_current", "promoted_attack", "promoted_defence")}
    attack = rng.standard_normal((chains, draws, 3))
    k = np.arange(chains)[:, None]
    attack[..., 0] = attack[..., 0] * spread ** k + shift * k
    return {**sites, "attack": attack, "defence": rng.standard_normal((chains, draws, 3)),
            "home_advantage": rng.standard_normal((chains, draws, 2))}


def test_r_hat_is_split_into_where_the_chains_lie_and_how_widely_they_spread():
    rng = np.random.default_rng(7)
    mixed = _diagnostics(_chains(rng), [0, 1, 2], 1, 2)
    assert mixed["r_hat_bulk_max"] < 1.01 and mixed["r_hat_folded_max"] < 1.01
    # Chains that disagree on the location: the bulk half says so.
    apart = _diagnostics(_chains(rng, shift=0.3), [0, 1, 2], 1, 2)
    assert apart["r_hat_bulk_max"] > 1.05 and apart["r_hat_max"] == apart["r_hat_bulk_max"]
    # Same centre, different spreads: invisible to the bulk half, caught by the folded one.
    wide = _diagnostics(_chains(rng, spread=1.5), [0, 1, 2], 1, 2)
    assert wide["r_hat_bulk_max"] < 1.02 < 1.05 < wide["r_hat_folded_max"] == wide["r_hat_max"]
    # Only the slots and seasons the data inform count: slot 0 left out, the bad chains are ignored.
    assert _diagnostics(_chains(rng, shift=0.3), [1, 2], 1, 2)["r_hat_max"] < 1.01


def test_adjusted_goals_and_their_dispersion_apply_only_where_xg_exists():
    matches = season_matches("2223").copy()
    half = len(matches) // 2
    matches["home_xg"] = np.where(np.arange(len(matches)) < half, 1.7, np.nan)
    matches["away_xg"] = np.where(np.arange(len(matches)) < half, 0.6, np.nan)
    as_of = dt.date(2023, 6, 1)
    config = DixonColesConfig(xi=0.0)  # equal decay weights: what remains is the dispersion
    played, _, _, _, args, kwargs = BayesianDixonColes(config).model_arrays(matches, as_of)
    n = len(played)
    with_xg = np.isfinite(played["home_xg"].to_numpy(dtype=float))
    weight = np.asarray(args[3])[:n]
    np.testing.assert_allclose(weight[with_xg], 1 / config.dispersion)
    np.testing.assert_allclose(weight[~with_xg], 1.0)
    home = played["home_goals"].to_numpy(dtype=float)
    share = config.xg_share
    assert 0 < share < 1
    np.testing.assert_allclose(kwargs["home_score"][:n][with_xg], (1 - share) * home[with_xg] + share * 1.7,
                               rtol=1e-6)
    np.testing.assert_allclose(kwargs["home_score"][:n][~with_xg], home[~with_xg])
    np.testing.assert_array_equal(kwargs["home_goals"][:n], home.astype(int))  # tau sees the actual scores
    # Goals only: the classic model, every weight one.
    _, _, _, _, classic, scores = BayesianDixonColes(DixonColesConfig(xi=0.0, xg_share=0.0)).model_arrays(
        matches, as_of)
    np.testing.assert_allclose(np.asarray(classic[3])[:n], 1.0)
    np.testing.assert_allclose(scores["home_score"][:n], home)


def test_a_second_cold_fit_then_a_continued_refit():
    # NumPyro re-initialises its kernel differently on a second run of the same sampler; the continued
    # refit must not depend on that (it once failed with a vmap rank error after two cold fits).
    matches = season_matches("2223")
    model = BayesianDixonColes(DixonColesConfig(num_warmup=60, num_samples=60, num_chains=2))
    day = dt.date(2023, 6, 1)
    modes = [model.fit(matches, day).mode, model.fit(matches, day).mode,
             model.fit(matches, day + dt.timedelta(days=7), warm=True).mode]
    assert modes == ["cold", "cold", "continue"]


def test_teams_new_to_the_window_start_a_continued_refit_at_the_hierarchy_centre():
    # A slot's last position before its team arrives is a draw from the padding's standard normal; the
    # continued refit has no warm-up, so a new team starts at its hierarchy's centre instead.
    matches = season_matches("2223")
    model = BayesianDixonColes(DixonColesConfig(num_warmup=100, num_samples=100, num_chains=2))
    first = model.fit(matches, dt.date(2022, 8, 6))  # the opening Friday: one match, two teams
    assert len(first.teams) == 2
    before = {k: np.asarray(v) for k, v in model._state.z.items()}
    _, teams, _, slots, args, kwargs = model.model_arrays(matches, dt.date(2022, 8, 14))
    z = model._start_new_teams(model._state.z, args[4], kwargs["team_lower"])
    new = [s for t, s in zip(teams, slots, strict=True) if t not in first.teams]
    old = [model._slots[t] for t in first.teams]
    assert len(new) == 18
    assert np.abs(before["raw_attack"][:, new]).max() > 0.1  # where the padding's prior left them
    np.testing.assert_array_equal(np.asarray(z["raw_attack"])[:, new], 0.0)
    np.testing.assert_array_equal(np.asarray(z["raw_defence"])[:, new], 0.0)
    np.testing.assert_array_equal(np.asarray(z["raw_attack"])[:, old], before["raw_attack"][:, old])
    posterior = model.fit(matches, dt.date(2022, 8, 14), warm=True)
    assert posterior.mode == "continue" and len(posterior.teams) == 20


# --- Synthetic leagues: known parameters, Poisson goals, a fixed seed -----------------------------------
# Two seasons of eight teams, each pair meeting three times home and away (168 matches a season). Home
# advantage (log scale) is 0.5 in the first season and 0 in the second; F's attack falls from +0.6 to -0.5
# and G's rises from -0.5 to +0.6 (so F - G is 0 averaged over the window, -1.1 recently); R1 and R2 play
# only the first season, P1 and P2 (flagged promoted) only the second, with attack -0.6 and defence +0.5.
# The tolerances below were set from fits of simulation seeds 0-7 (ranges quoted at each assertion).
SYNTH_SEASONS = ("2021-2022", "2022-2023")
SYNTH_HOME = (0.5, 0.0)
SYNTH_AS_OF = dt.date(2023, 6, 1)
SYNTH_CONFIG = DixonColesConfig(xi=0.0, num_warmup=200, num_samples=200, num_chains=2, match_block=128)
DECAY_XI = 0.01  # half-life about 70 days: the first season weighs about e^-3.65 of the second's end


def synthetic_matches(seed: int = 0, reps: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for k, season in enumerate(SYNTH_SEASONS):
        attack = {"A": 0.3, "B": 0.1, "C": -0.1, "D": -0.3, "F": (0.6, -0.5)[k], "G": (-0.5, 0.6)[k]}
        defence = {"A": -0.3, "B": -0.1, "C": 0.1, "D": 0.3, "F": 0.0, "G": 0.0}
        for team in ("P1", "P2") if k else ("R1", "R2"):
            attack[team], defence[team] = (-0.6, 0.5) if k else (-0.2, 0.2)
        pairs = [(h, a) for h in sorted(attack) for a in sorted(attack) if h != a] * reps
        start = pd.Timestamp(f"{season[:4]}-08-07")
        days = np.sort(rng.integers(0, 280, len(pairs)))
        for day, i in zip(days, rng.permutation(len(pairs)), strict=True):
            home, away = pairs[i]
            lam = np.exp(0.1 + SYNTH_HOME[k] + attack[home] + defence[away])
            mu = np.exp(0.1 + attack[away] + defence[home])
            rows.append({"match_date": (start + pd.Timedelta(days=int(day))).date(), "season": season,
                         "home_team_id": home, "away_team_id": away,
                         "home_goals": int(rng.poisson(lam)), "away_goals": int(rng.poisson(mu)),
                         "home_promoted": float(home.startswith("P")), "away_promoted": float(away.startswith("P"))})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def synthetic():
    matches = synthetic_matches()
    model = BayesianDixonColes(SYNTH_CONFIG)
    flat = model.fit(matches, SYNTH_AS_OF)
    # The model's deterministic sites over every slot, padding included (the Posterior keeps the teams').
    (sampler,) = model._samplers.values()
    padded = {k: np.asarray(sampler.get_samples()[k]) for k in ("attack", "defence")}
    slots = [model._slots[t] for t in flat.teams]
    decayed = BayesianDixonColes(dataclasses.replace(SYNTH_CONFIG, xi=DECAY_XI)).fit(matches, SYNTH_AS_OF)
    return {"matches": matches, "flat": flat, "decayed": decayed, "padded": padded, "slots": slots}


def _without_rho(posterior):
    """The same posterior with rho = 0 and a grid to 30 goals: each grid is then two independent Poissons,
    so its expected goals are the rates themselves (at 10 goals, the truncation costs a rate of 3.5 0.2%)."""
    return dataclasses.replace(posterior, samples={**posterior.samples, "rho": np.zeros_like(posterior.samples["rho"])},
                               config=dataclasses.replace(posterior.config, max_goals=30))


def _expected_goals(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected home and away goals per draw and match from a (draws, matches, G+1, G+1) grid."""
    i, j = np.indices(grid.shape[-2:])
    return (grid * i).sum(axis=(-2, -1)), (grid * j).sum(axis=(-2, -1))


def test_decay_weights_in_the_model_arrays():
    matches = synthetic_matches()
    second = matches["season"] == SYNTH_SEASONS[1]
    matches["home_xg"] = np.where(second, 1.4, np.nan)  # xG only in the second season
    matches["away_xg"] = np.where(second, 1.0, np.nan)
    config = DixonColesConfig(xi=DECAY_XI, match_block=128)
    played, _, _, _, args, _ = BayesianDixonColes(config).model_arrays(matches, SYNTH_AS_OF)
    n = len(played)
    weight = np.asarray(args[3], dtype=float)
    days = (pd.Timestamp(SYNTH_AS_OF) - pd.to_datetime(played["match_date"])).dt.days.to_numpy()
    with_xg = np.isfinite(played["home_xg"].to_numpy(dtype=float))
    assert len(weight) > n and with_xg.any() and not with_xg.all()
    np.testing.assert_array_equal(weight[n:], 0.0)  # padding has no say
    undivided = weight[:n] * np.where(with_xg, config.dispersion, 1.0)  # the dispersion only where xG exists
    np.testing.assert_allclose(undivided.mean(), 1.0, rtol=1e-5)  # normalised to a mean of one
    np.testing.assert_allclose(undivided, np.exp(-DECAY_XI * days) / np.exp(-DECAY_XI * days).mean(), rtol=1e-5)
    assert undivided[days.argmax()] < 0.1 * undivided[days.argmin()]  # a year back weighs far less
    # Unnormalised: exactly exp(-xi * days).
    raw = BayesianDixonColes(dataclasses.replace(config, normalise_weights=False)).model_arrays(matches, SYNTH_AS_OF)[4]
    np.testing.assert_allclose(np.asarray(raw[3][:n], dtype=float) * np.where(with_xg, config.dispersion, 1.0),
                               np.exp(-DECAY_XI * days), rtol=1e-5)


def test_promoted_flags_reach_the_model_and_newness_takes_precedence():
    matches = synthetic_matches()
    # The fixture's flags are the ones data.with_promoted derives (its first season has no season before).
    derived = with_promoted(matches.drop(columns=["home_promoted", "away_promoted"]).assign(competition_id="E0"))
    np.testing.assert_array_equal(derived["home_promoted"], matches["home_promoted"])
    np.testing.assert_array_equal(derived["away_promoted"], matches["away_promoted"])
    model = BayesianDixonColes(DixonColesConfig(match_block=128))
    played, *_, args, _ = model.model_arrays(matches, SYNTH_AS_OF)
    n = len(played)
    np.testing.assert_array_equal(args[5][:n], played["home_promoted"].to_numpy())
    np.testing.assert_array_equal(args[6][:n], played["away_promoted"].to_numpy())
    assert args[5][:n].sum() == 2 * 3 * 7 and not args[5][n:].any()  # P1, P2: 7 opponents, 3 times each
    played, *_, args, _ = model.model_arrays(derived, SYNTH_AS_OF)  # with_promoted's fading newness
    np.testing.assert_allclose(args[5][:n], played["home_newness"].to_numpy(), rtol=1e-6)
    assert 0 < args[5][:n][args[5][:n] > 0].min() < 1


def test_a_larger_decay_moves_attack_toward_recent_form(synthetic):
    flat, decayed = synthetic["flat"], synthetic["decayed"]

    def gap(posterior):  # F's attack minus G's: 0 over the window, -1.1 in the recent season
        attack = posterior.samples["attack"]
        return (attack[:, posterior.team_index("F")] - attack[:, posterior.team_index("G")]).mean()

    # Seeds 0-7: xi = 0 gives -0.12..0.21, xi = 0.01 gives -1.33..-0.80.
    assert abs(gap(flat)) < 0.35
    assert gap(decayed) < -0.6 and gap(decayed) < gap(flat) - 0.6


def test_sum_to_zero_holds_per_draw_for_attack_and_defence_over_the_teams_present(synthetic):
    flat, padded, slots = synthetic["flat"], synthetic["padded"], synthetic["slots"]
    assert len(flat.teams) == 10
    for site in ("attack", "defence"):
        draws = flat.samples[site]
        assert draws.shape == (SYNTH_CONFIG.num_samples * SYNTH_CONFIG.num_chains, 10)
        assert draws.std(0).min() > 0.01  # not trivially zero
        np.testing.assert_allclose(draws.sum(axis=1), 0.0, atol=1e-4)
        padding = np.setdiff1d(np.arange(SYNTH_CONFIG.team_capacity), slots)
        np.testing.assert_array_equal(padded[site][:, padding], 0.0)
        np.testing.assert_allclose(padded[site][:, slots], draws)


def test_promoted_shift_is_learned_and_applied_only_to_flagged_teams(synthetic):
    flat = synthetic["flat"]
    shift_attack, shift_defence = flat.samples["promoted_attack"], flat.samples["promoted_defence"]
    assert shift_attack.shape == shift_defence.shape == flat.samples["intercept"].shape
    # The promoted teams were weaker (-0.6, +0.5); priors N(-0.1, 0.2), N(0.1, 0.2). Seeds 0-7: posterior
    # means -0.39..-0.21 and 0.15..0.29.
    assert shift_attack.mean() < -0.15 and shift_defence.mean() > 0.1
    assert shift_attack.std() < 0.2  # the data narrowed the prior

    # Same posterior, P1 at home flagged or not; a second match unflagged in both.
    homes, aways = ["P1", "B"], ["A", "C"]
    exact = _without_rho(flat)
    plain = score_matrices(exact, homes, aways)
    flagged = score_matrices(exact, homes, aways, home_promoted=[1.0, 0.0], away_promoted=[0.0, 0.0])
    (home0, away0), (home1, away1) = _expected_goals(plain), _expected_goals(flagged)
    np.testing.assert_allclose(home1[:, 0] / home0[:, 0], np.exp(shift_attack), rtol=1e-5)
    np.testing.assert_allclose(away1[:, 0] / away0[:, 0], np.exp(shift_defence), rtol=1e-5)
    np.testing.assert_array_equal(flagged[:, 1], plain[:, 1])  # the unflagged match is untouched
    # A flagged away side shifts the other way round: its attack is the away goals, its defence the home's.
    away_flagged = score_matrices(exact, ["A"], ["P1"], away_promoted=[1.0])
    home2, away2 = _expected_goals(away_flagged)
    home3, away3 = _expected_goals(score_matrices(exact, ["A"], ["P1"]))
    np.testing.assert_allclose(away2[:, 0] / away3[:, 0], np.exp(shift_attack), rtol=1e-5)
    np.testing.assert_allclose(home2[:, 0] / home3[:, 0], np.exp(shift_defence), rtol=1e-5)
    # With the fitted rho too, the flag moves expected goals the way the posterior shift points.
    on = predict(flat, ["P1"], ["A"], home_promoted=[1.0])
    off = predict(flat, ["P1"], ["A"])
    assert np.sign(on["expected_home_goals"].iloc[0] - off["expected_home_goals"].iloc[0]) == np.sign(shift_attack.mean())
    assert np.sign(on["expected_away_goals"].iloc[0] - off["expected_away_goals"].iloc[0]) == np.sign(shift_defence.mean())

    # A team never seen: the hierarchy's mean (attack and defence 0) plus the shift when flagged.
    s = exact.samples
    base = s["intercept"] + s["home_advantage"][:, -1]
    opponent = exact.team_index("A")
    for flag, (attack, defence) in ((0.0, (0.0, 0.0)), (1.0, (shift_attack, shift_defence))):
        home, away = _expected_goals(score_matrices(exact, ["never-seen"], ["A"], home_promoted=[flag]))
        np.testing.assert_allclose(home[:, 0], np.exp(base + attack + s["defence"][:, opponent]), rtol=1e-5)
        np.testing.assert_allclose(away[:, 0], np.exp(s["intercept"] + s["attack"][:, opponent] + defence), rtol=1e-5)


def test_home_advantage_varies_by_season_and_predictions_use_the_right_one(synthetic):
    flat = synthetic["flat"]
    assert flat.seasons == list(SYNTH_SEASONS)
    home = flat.samples["home_advantage"]
    assert home.shape == (SYNTH_CONFIG.num_samples * SYNTH_CONFIG.num_chains, 2)
    # Simulated 0.5 then 0; the random walk's tight step prior shrinks the gap. Seeds 0-7: gap 0.16-0.42,
    # P(first > second) 0.97-1.
    assert (home[:, 0] - home[:, 1]).mean() > 0.1
    assert (home[:, 0] > home[:, 1]).mean() > 0.9
    assert home[:, 0].mean() > 0.3

    exact = _without_rho(flat)
    first = _expected_goals(score_matrices(exact, ["A"], ["B"], season=SYNTH_SEASONS[0]))
    second = _expected_goals(score_matrices(exact, ["A"], ["B"], season=SYNTH_SEASONS[1]))
    np.testing.assert_allclose(first[0][:, 0] / second[0][:, 0], np.exp(home[:, 0] - home[:, 1]), rtol=1e-5)
    np.testing.assert_allclose(first[1], second[1], rtol=1e-6)  # away goals carry no home advantage
    # No season, or one the fit has not seen: the newest season's value.
    for season in (None, "2023-2024"):
        np.testing.assert_array_equal(score_matrices(exact, ["A"], ["B"], season=season),
                                      score_matrices(exact, ["A"], ["B"], season=SYNTH_SEASONS[1]))
