"""The PyMC reference model of the speed benchmark (bench/pymc_reference.py) is the product's NumPyro
Dixon-Coles model: same arrays, and the same log density up to one constant at every point, both on the
constrained values (no Jacobian) and in the unconstrained space the samplers move in (with Jacobians)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest
from numpyro.infer.util import log_density, potential_energy, unconstrain_fn

from football_pipeline.modelling.data import with_promoted
from football_pipeline.modelling.dixon_coles import BayesianDixonColes, DixonColesConfig, make_model
from football_pipeline_tests.modelling.test_dixon_coles import season_matches

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pymc_reference = pytest.importorskip("bench.pymc_reference", reason="PyMC is not installed")

AS_OF = dt.date(2022, 10, 1)


@pytest.fixture(scope="module")
def matches() -> pd.DataFrame:
    frame = pd.concat([season_matches("2122"), season_matches("2223")], ignore_index=True)
    # xG on 2022-23 only, so that both kinds of rows are scored: adjusted goals (non-integer) where xG
    # exists, goals alone where it does not. The values only need to be non-integer for this check.
    rng = np.random.default_rng(3)
    later = frame["season"] == "2022-2023" if "season" in frame else frame.index >= len(frame) // 2
    for side in ("home", "away"):
        frame[f"{side}_xg"] = np.where(later, rng.gamma(2.0, 0.7, len(frame)), np.nan)
    # The first 150 matches stand in for the division below, so the second-tier offsets are compared too.
    frame["lower_division"] = frame.index < 150
    return with_promoted(frame.assign(competition_id="E0"))  # 2022-23's promoted teams get the shifts


class _Captured(Exception):
    pass


class _CaptureRun:
    """Stands in for the compiled sampler: records the arguments fit() hands to NUTS, then stops the fit."""

    def run(self, rng, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        raise _Captured


def test_the_reference_arrays_are_the_ones_fit_builds(matches):
    product = BayesianDixonColes()
    capture = _CaptureRun()
    product._sampler = lambda capacity, kind: capture
    with pytest.raises(_Captured):
        product.fit(matches, AS_OF)
    built = pymc_reference.fit_arrays(matches, AS_OF)
    assert len(built["args"]) == len(capture.args)
    for ours, theirs in zip(built["args"], capture.args, strict=True):
        np.testing.assert_array_equal(ours, np.asarray(theirs))
        assert ours.dtype == np.asarray(theirs).dtype
    assert built["kwargs"].keys() == capture.kwargs.keys()
    for key, value in built["kwargs"].items():
        np.testing.assert_array_equal(value, capture.kwargs[key])
    assert built["n"] > 400 and len(built["seasons"]) == 2
    assert built["args"][5].sum() > 0 and built["args"][6].sum() > 0  # promoted teams in the slice
    lower = built["kwargs"]["team_lower"]
    assert 0 < lower.max() < 1 and lower.min() == 0  # shares of second-tier matches, by team


def _points(n_teams: int, n_seasons: int, rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    """Posterior-like points (plausible scales, strengths, home advantage, rho), plus one extreme point
    whose Dixon-Coles tau goes negative on a 0-0, so the clip at 1e-10 is compared too."""
    points = []
    for k in range(6):
        extreme = k == 5
        points.append({
            "sigma_attack": np.float64(0.8 if extreme else rng.uniform(0.15, 0.45)),
            "sigma_defence": np.float64(0.8 if extreme else rng.uniform(0.15, 0.45)),
            "raw_attack": rng.normal(-0.1, 0.3, size=n_teams) * (2.0 if extreme else 1.0),
            "raw_defence": rng.normal(0.1, 0.3, size=n_teams),
            "intercept": np.float64(1.0 if extreme else rng.normal(0.2, 0.1)),
            "home_current": np.float64(rng.normal(0.25, 0.08)),
            "sigma_home": np.float64(rng.uniform(0.01, 0.12)),
            "z_home": rng.normal(size=n_seasons - 1),
            "rho": np.float64(0.195 if extreme else rng.uniform(-0.15, 0.12)),
            "promoted_attack": np.float64(rng.normal(-0.1, 0.15)),
            "promoted_defence": np.float64(rng.normal(0.1, 0.15)),
            "lower_attack": np.float64(rng.normal(-0.3, 0.2)),
            "lower_defence": np.float64(rng.normal(0.3, 0.2)),
        })
    return points


def _tau_is_clipped(point: dict, args: tuple, kwargs: dict) -> bool:
    home, away, season, weight, mask, home_new, away_new = (np.asarray(a) for a in args)
    x, y = kwargs["home_goals"], kwargs["away_goals"]
    n_teams = mask.sum()
    raw_attack = point["raw_attack"] * mask
    raw_defence = point["raw_defence"] * mask
    attack = (raw_attack - raw_attack.sum() / n_teams) * mask
    defence = (raw_defence - raw_defence.sum() / n_teams) * mask
    steps = np.cumsum((point["sigma_home"] * point["z_home"])[::-1])[::-1]
    home_advantage = point["home_current"] - np.concatenate([steps, [0.0]])
    lam = np.exp(point["intercept"] + home_advantage[season] + attack[home] + point["promoted_attack"] * home_new
                 + defence[away] + point["promoted_defence"] * away_new)
    mu = np.exp(point["intercept"] + attack[away] + point["promoted_attack"] * away_new + defence[home]
                + point["promoted_defence"] * home_new)
    return bool(np.any((x == 0) & (y == 0) & (weight > 0) & (1 - lam * mu * point["rho"] <= 0)))


def test_pymc_and_numpyro_log_densities_agree_up_to_a_constant(matches):
    cfg = DixonColesConfig()
    built = pymc_reference.fit_arrays(matches, AS_OF, cfg)
    args, kwargs = built["args"], built["kwargs"]
    numpyro_model = make_model(cfg.season_capacity)
    pymc_model = pymc_reference.make_pymc_model(*args, **kwargs, n_seasons=cfg.season_capacity)
    logp_constrained = pymc_model.compile_logp(jacobian=False)
    logp_unconstrained = pymc_model.compile_logp(jacobian=True)
    # Each free variable's value in PyMC's sampling space, by PyMC's own transform.
    forward = {}
    for rv in pymc_model.free_RVs:
        value_name = pymc_model.rvs_to_values[rv].name
        transform = pymc_model.rvs_to_transforms[rv]
        forward[rv.name] = (value_name, transform, rv)
    points = _points(cfg.team_capacity, cfg.season_capacity, np.random.default_rng(7))
    assert set(forward) == set(points[0])  # the same free parameters
    assert _tau_is_clipped(points[-1], args, kwargs) and not _tau_is_clipped(points[0], args, kwargs)

    rows = []
    with jax.enable_x64(True):
        for point in points:
            pymc_point = {}
            for name, (value_name, transform, rv) in forward.items():
                pymc_point[value_name] = point[name] if transform is None else \
                    transform.forward(point[name], *rv.owner.inputs).eval()
            numpyro_point = {k: jax.numpy.asarray(v) for k, v in point.items()}
            numpyro_joint = float(log_density(numpyro_model, args, kwargs, numpyro_point)[0])
            unconstrained = unconstrain_fn(numpyro_model, args, kwargs, numpyro_point)
            # The samplers' coordinates are the same (log for the scales, logit for rho's interval) ...
            for name, (value_name, _, _) in forward.items():
                np.testing.assert_allclose(np.asarray(unconstrained[name]), pymc_point[value_name], rtol=1e-9,
                                           atol=1e-12)
            numpyro_unconstrained = -float(potential_energy(numpyro_model, args, kwargs, unconstrained))
            rows.append((float(logp_constrained(pymc_point)), numpyro_joint,
                         float(logp_unconstrained(pymc_point)), numpyro_unconstrained))
    rows = np.array(rows)
    constrained_offset = rows[:, 0] - rows[:, 1]
    unconstrained_offset = rows[:, 2] - rows[:, 3]
    assert np.all(np.isfinite(rows)) and np.ptp(rows[:, 1]) > 100  # the points are far apart in density
    # ... and the densities differ by one constant (here none: both keep every normalising constant).
    assert np.ptp(constrained_offset) < 1e-3, constrained_offset
    assert np.ptp(unconstrained_offset) < 1e-3, unconstrained_offset
    assert abs(constrained_offset[0]) < 1e-3 and abs(unconstrained_offset[0]) < 1e-3
