"""Probabilistic scores for 1X2 forecasts. Outcomes are ordered home win, draw, away win (0, 1, 2).

Ranked probability score (RPS, Epstein 1969; the football standard, Constantinou & Fenton 2012),
log loss, multi-class Brier score, accuracy (overall and per outcome), and calibration: a reliability
table, expected calibration error and the slope/intercept of a logistic recalibration, pooled over
the three one-vs-rest problems; and the paired difference of two forecasters' scores on the same
matches with its (date-clustered) standard error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OUTCOMES = ("H", "D", "A")
EPS = 1e-15


def outcome_index(results) -> np.ndarray:
    """'H'/'D'/'A' -> 0/1/2."""
    lookup = {o: i for i, o in enumerate(OUTCOMES)}
    return np.array([lookup[r] for r in results], dtype=int)


def _check(probabilities: np.ndarray, outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(outcomes, dtype=int)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) != len(y):
        raise ValueError(f"expected (n, 3) probabilities for n outcomes, got {p.shape} and {y.shape}")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("each row of probabilities must sum to 1")
    return p, y


def rps(probabilities, outcomes) -> np.ndarray:
    """Per-match ranked probability score (lower is better; 0 is perfect)."""
    p, y = _check(probabilities, outcomes)
    observed = np.eye(3)[y]
    cumulative = np.cumsum(p, axis=1)[:, :2] - np.cumsum(observed, axis=1)[:, :2]
    return 0.5 * np.sum(cumulative**2, axis=1)


def log_loss(probabilities, outcomes) -> np.ndarray:
    p, y = _check(probabilities, outcomes)
    return -np.log(np.clip(p[np.arange(len(y)), y], EPS, 1.0))


def brier(probabilities, outcomes) -> np.ndarray:
    p, y = _check(probabilities, outcomes)
    return np.sum((p - np.eye(3)[y]) ** 2, axis=1)


@dataclass(frozen=True)
class PairedDifference:
    """Mean of a per-match score difference (a - b, same matches) and its standard error."""
    n: int
    mean: float
    se: float

    @property
    def interval(self) -> tuple[float, float]:
        """Normal 95% interval of the mean difference."""
        return self.mean - 1.96 * self.se, self.mean + 1.96 * self.se


def paired_difference(a, b, clusters=None) -> PairedDifference:
    """Compare two forecasters on the same matches from their per-match scores (e.g. `rps`): the mean
    difference a - b and its standard error, clustered by `clusters` (e.g. the match date: games of
    one matchday share news, weather and the market's mood) when given, else as independent pairs
    (the Diebold-Mariano statistic without autocorrelation terms)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.ndim != 1 or len(d) < 2:
        raise ValueError(f"expected two equally long 1-d score arrays of at least 2 matches, got {d.shape}")
    mean = float(d.mean())
    if clusters is None:
        return PairedDifference(len(d), mean, float(d.std(ddof=1) / np.sqrt(len(d))))
    groups = np.unique(np.asarray(clusters), return_inverse=True)[1]
    sums = np.bincount(groups, weights=d - mean)
    g = len(sums)
    if g < 2:
        raise ValueError("a clustered standard error needs at least two clusters")
    return PairedDifference(len(d), mean, float(np.sqrt(g / (g - 1) * np.sum(sums**2)) / len(d)))


@dataclass(frozen=True)
class Calibration:
    bins: list[tuple[float, float, float, int]]  # (mean forecast, observed frequency, bin upper edge, count)
    ece: float
    slope: float
    intercept: float


def calibration(probabilities, outcomes, n_bins: int = 10) -> Calibration:
    """Pooled one-vs-rest reliability of all three outcome probabilities."""
    p, y = _check(probabilities, outcomes)
    forecast = p.ravel()
    hit = np.eye(3)[y].ravel()
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(forecast, edges[1:-1]), 0, n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        inside = which == b
        if not inside.any():
            continue
        mean_f, freq = float(forecast[inside].mean()), float(hit[inside].mean())
        bins.append((mean_f, freq, float(edges[b + 1]), int(inside.sum())))
        ece += inside.mean() * abs(mean_f - freq)
    slope, intercept = _logistic_recalibration(forecast, hit)
    return Calibration(bins, float(ece), slope, intercept)


def _logistic_recalibration(forecast: np.ndarray, hit: np.ndarray) -> tuple[float, float]:
    """Fit hit ~ sigmoid(intercept + slope * logit(forecast)) by Newton's method (slope 1, intercept 0 = calibrated)."""
    f = np.clip(forecast, 1e-6, 1 - 1e-6)
    x = np.column_stack([np.ones_like(f), np.log(f / (1 - f))])
    beta = np.array([0.0, 1.0])
    for _ in range(50):
        mu = 1 / (1 + np.exp(-(x @ beta)))
        gradient = x.T @ (hit - mu)
        hessian = x.T @ (x * (mu * (1 - mu))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[1]), float(beta[0])


@dataclass(frozen=True)
class Scores:
    n: int
    rps: float
    log_loss: float
    brier: float
    accuracy: float
    accuracy_by_outcome: dict[str, float]
    calibration: Calibration

    def as_dict(self) -> dict[str, float]:
        out = {"n": self.n, "rps": self.rps, "log_loss": self.log_loss, "brier": self.brier,
               "accuracy": self.accuracy, "ece": self.calibration.ece,
               "calibration_slope": self.calibration.slope, "calibration_intercept": self.calibration.intercept}
        out.update({f"accuracy_{o}": v for o, v in self.accuracy_by_outcome.items()})
        return out


def score(probabilities, outcomes) -> Scores:
    p, y = _check(probabilities, outcomes)
    predicted = p.argmax(axis=1)
    by_outcome = {OUTCOMES[k]: float((predicted[y == k] == k).mean()) if (y == k).any() else float("nan")
                  for k in range(3)}
    return Scores(len(y), float(rps(p, y).mean()), float(log_loss(p, y).mean()), float(brier(p, y).mean()),
                  float((predicted == y).mean()), by_outcome, calibration(p, y))


def reliability_png(calibrations: dict[str, Calibration], path) -> None:
    """Reliability diagram (forecast vs observed frequency), one line per model, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 5.5), dpi=110)
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for name, cal in calibrations.items():
        xs, ys = [b[0] for b in cal.bins], [b[1] for b in cal.bins]
        axis.plot(xs, ys, marker="o", label=f"{name} (ECE {cal.ece:.3f})")
    axis.set_xlabel("forecast probability")
    axis.set_ylabel("observed frequency")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.legend(loc="upper left", fontsize=8)
    axis.set_title("Reliability: 1X2 outcomes, one-vs-rest")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
