"""Bookmaker prices to probabilities: remove the margin ("de-vig").

Shin (1993) models the margin as protection against insiders; his method assumes a share z of
insider money and solves for the z that makes the implied probabilities sum to one. It corrects the
favourite-longshot bias that the proportional (basic normalisation) method leaves in.
"""

from __future__ import annotations

import numpy as np


def proportional(prices) -> np.ndarray:
    inverse = 1.0 / np.asarray(prices, dtype=float)
    return inverse / inverse.sum(axis=-1, keepdims=True)


def shin(prices, tolerance: float = 1e-12) -> np.ndarray:
    """Shin probabilities for rows of decimal prices (n, k). Rows with missing prices give NaN."""
    prices = np.atleast_2d(np.asarray(prices, dtype=float))
    out = np.full(prices.shape, np.nan)
    for row, odds in enumerate(prices):
        if not np.all(np.isfinite(odds)) or np.any(odds <= 1.0):
            continue
        inverse = 1.0 / odds
        booksum = inverse.sum()
        if booksum <= 1.0:  # no margin (or an arbitrage): nothing to remove but the excess
            out[row] = inverse / booksum
            continue
        low, high = 0.0, 0.5
        for _ in range(200):
            z = (low + high) / 2
            total = _shin_probabilities(inverse, booksum, z).sum()
            if total > 1.0:
                low = z
            else:
                high = z
            if high - low < tolerance:
                break
        p = _shin_probabilities(inverse, booksum, (low + high) / 2)
        out[row] = p / p.sum()
    return out


def _shin_probabilities(inverse: np.ndarray, booksum: float, z: float) -> np.ndarray:
    return (np.sqrt(z**2 + 4 * (1 - z) * inverse**2 / booksum) - z) / (2 * (1 - z))
