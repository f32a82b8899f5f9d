"""Gamma-Gamma model of spend per transaction: likelihood, fit, expected spend.

References: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "RFM and CLV: Using Iso-Value
Curves for Customer Base Analysis", J. Marketing Research 42(4), 415-430; P. S. Fader and
B. G. S. Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (note), whose CDNOW fit is
p = 6.25, q = 3.74, gamma = 15.44.

Model: a customer's transaction values are i.i.d. Gamma(p, nu) (shape p, rate nu), with nu
~ Gamma(q, gamma) across customers. The mean ``m`` of ``x`` transactions is Gamma(p x, nu x),
so the marginal density of ``m`` given ``x`` is::

    f(m | p, q, v, x) = G(p x + q) / (G(p x) G(q)) * v^q x^(p x) m^(p x - 1)
                        / (v + m x)^(p x + q)

with ``v`` the note's gamma (called ``v`` in restock's output and in ``lifetimes``). It is
fitted by maximum likelihood on the customers with x >= 1 repeat purchases, using the mean
value of their repeat purchases (the first purchase is left out, see :mod:`core.clv.data`).

Expected mean spend of a customer (the note's conditional expectation): a weighted mean of
the population mean ``p v / (q - 1)`` and the customer's own ``m``::

    E(M | p, q, v, m, x) = (q - 1) / (p x + q - 1) * p v / (q - 1)
                           + p x / (p x + q - 1) * m
                         = p (v + m x) / (p x + q - 1)

The model assumes that spend per transaction is independent of the number of transactions;
:func:`frequency_monetary_correlation` reports the correlation to check it (0.11 on CDNOW,
which the note judges small enough).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from .bgnbd import minimize_log_params

__all__ = ["GammaGamma", "GammaGammaFit", "fit_gamma_gamma", "log_likelihood",
           "log_likelihood_gradient",
           "frequency_monetary_correlation", "DEFAULT_STARTS"]

#: Starting points (p, q, v) of the multi-start fit.
DEFAULT_STARTS: tuple[tuple[float, float, float], ...] = (
    (1.0, 1.0, 1.0), (5.0, 3.0, 15.0), (2.0, 10.0, 100.0), (20.0, 2.0, 2.0))


def log_likelihood(p: float, q: float, v: float, x, m) -> np.ndarray:
    """Individual log-likelihoods ln f(m | p, q, v, x) for customers with x >= 1, m > 0."""
    x, m = (np.asarray(u, dtype=float) for u in np.broadcast_arrays(x, m))
    px = p * x
    return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
            + q * math.log(v) + px * np.log(x) + (px - 1.0) * np.log(m)
            - (px + q) * np.log(v + m * x))


def log_likelihood_gradient(p: float, q: float, v: float, x, m
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Individual log-likelihoods and their gradient in (p, q, v), shape (3, n)::

        dLL/dp = x [psi(p x + q) - psi(p x) + ln(x) + ln(m) - ln(v + m x)]
        dLL/dq = psi(p x + q) - psi(q) + ln(v) - ln(v + m x)
        dLL/dv = q / v - (p x + q) / (v + m x)
    """
    x, m = (np.asarray(u, dtype=float).ravel() for u in np.broadcast_arrays(x, m))
    px, vmx = p * x, np.log(v + m * x)
    dp = x * (special.digamma(px + q) - special.digamma(px) + np.log(x) + np.log(m) - vmx)
    dq = special.digamma(px + q) - special.digamma(q) + math.log(v) - vmx
    dv = q / v - (px + q) / (v + m * x)
    return log_likelihood(p, q, v, x, m), np.vstack([dp, dq, dv])


@dataclass(frozen=True)
class GammaGamma:
    """Gamma-Gamma parameters (p, q, v = the note's gamma) and expected spend."""

    p: float
    q: float
    v: float

    def as_dict(self) -> dict[str, float]:
        """The parameters as ``{"p", "q", "v"}``."""
        return {"p": self.p, "q": self.q, "v": self.v}

    def log_likelihood(self, x, m) -> np.ndarray:
        """Individual log-likelihoods, see :func:`log_likelihood`."""
        return log_likelihood(self.p, self.q, self.v, x, m)

    @property
    def population_mean(self) -> float:
        """Mean spend per transaction in the population, ``p v / (q - 1)`` (inf if q <= 1)."""
        return self.p * self.v / (self.q - 1.0) if self.q > 1.0 else math.inf

    def expected_spend(self, x, m) -> np.ndarray:
        """Expected spend per transaction ``p (v + m x) / (p x + q - 1)``.

        Customers with x = 0 (or a missing ``m``) get the population mean.
        """
        x, m = (np.asarray(u, dtype=float) for u in np.broadcast_arrays(x, m))
        has = (x > 0) & np.isfinite(m)
        xs, ms = np.where(has, x, 0.0), np.where(has, m, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = self.p * (self.v + ms * xs) / (self.p * xs + self.q - 1.0)
        return np.where(has, value, self.population_mean)


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted Gamma-Gamma model.

    Attributes:
        model: The parameters at the optimum.
        log_likelihood: Sum of individual log-likelihoods (without penalty).
        n_customers: Customers used (x >= 1 and m > 0).
        correlation: Pearson correlation of x and m among them (the independence check;
            NaN with fewer than 3 customers).
        converged: Whether the gradient at the optimum is ~0.
    """

    model: GammaGamma
    log_likelihood: float
    n_customers: int
    correlation: float
    converged: bool


def frequency_monetary_correlation(x, m) -> float:
    """Pearson correlation of repeat count and mean repeat spend over customers with x >= 1.

    The Gamma-Gamma model assumes the two are independent; a correlation far from 0 (say
    |rho| > 0.3) means its spend predictions are biased for heavy or light buyers.
    """
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x >= 1) & np.isfinite(m) & (m > 0)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(m[keep]) == 0:
        return math.nan
    return float(stats.pearsonr(x[keep], m[keep])[0])


def fit_gamma_gamma(x, m, *, penalizer: float = 0.0,
                    prior: tuple[np.ndarray, np.ndarray] | None = None,
                    starts: Sequence[Sequence[float]] = DEFAULT_STARTS) -> GammaGammaFit:
    """Maximum-likelihood fit of (p, q, v) on the customers with x >= 1 and m > 0.

    Minimises over phi = log(p, q, v): ``-sum LL_i + penalizer |phi|^2 + 1/2 (phi -
    phi0)' P (phi - phi0)``, the last term only with ``prior = (phi0, P)``.

    Args:
        x: Repeat purchase counts (customers with x = 0 are skipped).
        m: Mean value of each customer's repeat purchases (NaN or <= 0 is skipped).
        penalizer: Ridge strength on the log-parameters (default 0).
        prior: Optional Gaussian prior on phi: centre (3,) and precision (3, 3); with it the
            fit is defined even without any repeat customer (it returns the prior).
        starts: Starting points (p, q, v).

    Raises:
        ValueError: if no customer has a repeat purchase with a positive amount and no prior
            is given.
    """
    x, m = np.asarray(x, dtype=float).ravel(), np.asarray(m, dtype=float).ravel()
    keep = (x >= 1) & np.isfinite(m) & (m > 0)
    xs, ms = x[keep], m[keep]
    if xs.size == 0 and prior is None:
        raise ValueError("the Gamma-Gamma model needs customers with at least one repeat "
                         "purchase of a positive amount")

    def loglik(theta: np.ndarray) -> tuple[float, np.ndarray]:
        if xs.size == 0:
            return 0.0, np.zeros(3)
        values, grads = log_likelihood_gradient(*theta, xs, ms)
        return float(values.sum()), grads.sum(axis=1)

    if prior is not None:
        starts = [*starts, tuple(np.exp(prior[0]))]
    res = minimize_log_params(loglik, starts, penalizer=penalizer, prior=prior)
    model = GammaGamma(*map(float, np.exp(res.x)))
    ll = float(np.sum(model.log_likelihood(xs, ms))) if xs.size else 0.0
    return GammaGammaFit(model, ll, int(xs.size), frequency_monetary_correlation(xs, ms),
                         bool(res.success))
