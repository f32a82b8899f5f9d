"""BG/NBD model of repeat buying: likelihood, maximum-likelihood fit, P(alive), expectations.

Reference: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "'Counting Your Customers' the
Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284, and
the companion notes by Fader, Hardie & Lee, "Implementing the BG/NBD Model for Customer Base
Analysis in Excel" (2005) and "Computing P(alive) Using the BG/NBD Model" (2008).

Model: while alive a customer buys as a Poisson process of rate lambda ~ Gamma(r, alpha);
after each purchase she drops out with probability p ~ Beta(a, b). A customer is summarised
by ``x`` repeat purchases, the last at ``t_x``, observed over ``(0, T]`` (weeks since her first
purchase). Time unit: whatever ``t_x`` and ``T`` use (restock uses weeks).

Individual log-likelihood (paper eq. 6, in the stable form of the Excel note)::

    A1 = lnG(r + x) - lnG(r) + r ln(alpha)
    A2 = lnG(a + b) + lnG(b + x) - lnG(b) - lnG(a + b + x)
    A3 = -(r + x) ln(alpha + T)
    A4 = ln(a) - ln(b + x - 1) - (r + x) ln(alpha + t_x)      (only when x > 0)
    LL = A1 + A2 + ln(exp(A3) + [x > 0] exp(A4))

The fit maximises sum(LL) over log(r, alpha, a, b) with L-BFGS-B from several starts
(identical (x, t_x, T) rows are merged with weights), optionally minus a ridge penalty
``penalizer * sum(log(theta)^2)`` that pulls every parameter toward 1 (default 0: plain ML).
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, special

__all__ = ["BGNBD", "BGNBDFit", "fit_bgnbd", "log_likelihood", "log_likelihood_gradient",
           "one_minus_hyp2f1_scaled", "minimize_log_params", "DEFAULT_STARTS"]

#: Starting points (r, alpha, a, b) of the multi-start fit; the best optimum is kept.
DEFAULT_STARTS: tuple[tuple[float, float, float, float], ...] = (
    (1.0, 1.0, 1.0, 1.0), (0.3, 5.0, 0.8, 2.5), (0.5, 20.0, 0.3, 5.0), (2.0, 2.0, 2.0, 8.0))
_LOG_BOUND = 12.0  # |log(theta)| <= 12 keeps exp() finite during the search


def _arrays(*values) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in np.broadcast_arrays(*values)]


def log_likelihood(r: float, alpha: float, a: float, b: float, x, t_x, T) -> np.ndarray:
    """Individual BG/NBD log-likelihoods ln L(r, alpha, a, b | x, t_x, T) (paper eq. 6).

    Args:
        r, alpha, a, b: Model parameters (all > 0).
        x, t_x, T: Repeat purchases (>= 0), time of the last one (0 when x = 0) and length
            of the observation period, array-like; the result broadcasts over them.
    """
    x, t_x, T = _arrays(x, t_x, T)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * math.log(alpha)
    a2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
          - special.gammaln(a + b + x))
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(a3, -np.inf)
    xs = x[repeat]
    a4[repeat] = (math.log(a) - np.log(b + xs - 1.0)
                  - (r + xs) * np.log(alpha + t_x[repeat]))
    return a1 + a2 + np.logaddexp(a3, a4)


def log_likelihood_gradient(r: float, alpha: float, a: float, b: float, x, t_x, T
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Individual log-likelihoods and their gradient in (r, alpha, a, b), shape (4, n).

    With ``D = ln(exp(A3) + exp(A4))``, ``w3 = exp(A3 - D)``, ``w4 = exp(A4 - D)`` and psi the
    digamma function::

        dLL/dr     = psi(r+x) - psi(r) + ln(alpha) - w3 ln(alpha+T) - w4 ln(alpha+t_x)
        dLL/dalpha = r/alpha - (r+x) (w3 / (alpha+T) + w4 / (alpha+t_x))
        dLL/da     = psi(a+b) - psi(a+b+x) + w4 / a
        dLL/db     = psi(a+b) + psi(b+x) - psi(b) - psi(a+b+x) - w4 / (b+x-1)
    """
    x, t_x, T = (u.ravel() for u in _arrays(x, t_x, T))
    ll = log_likelihood(r, alpha, a, b, x, t_x, T)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * math.log(alpha)
    a2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
          - special.gammaln(a + b + x))
    w3 = np.exp(-(r + x) * np.log(alpha + T) - (ll - a1 - a2))
    w4 = np.where(x > 0, 1.0 - w3, 0.0)
    t_last = np.where(x > 0, t_x, T)  # any finite value where w4 = 0
    b_last = np.where(x > 0, b + x - 1.0, 1.0)
    dr = (special.digamma(r + x) - special.digamma(r) + math.log(alpha)
          - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_last))
    dalpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_last))
    da = special.digamma(a + b) - special.digamma(a + b + x) + w4 / a
    db = (special.digamma(a + b) + special.digamma(b + x) - special.digamma(b)
          - special.digamma(a + b + x) - w4 / b_last)
    return ll, np.vstack([dr, dalpha, da, db])


def one_minus_hyp2f1_scaled(r: float, alpha: float, a: float, b: float, x, T, t
                            ) -> np.ndarray:
    """``1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)``, ``z = t/(alpha+T+t)``.

    The hypergeometric term of the conditional expectation (paper eq. 10). For a large ``x``
    or ``t`` the plain series has large parameters and ``z`` near 1 (slow convergence,
    overflow), so it is evaluated after Euler's transformation (Abramowitz & Stegun 15.3.3)
    ``2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)``, which turns the term into
    ``(1-z)^(a-1) F`` with ``F = 2F1(a+b-1-r, a-1; a+b+x-1; z)``: its first two parameters do
    not grow with ``x`` and its ``C`` does (faster convergence). Then ``1 - (1-z)^(a-1) F =
    -expm1((a-1) log1p(-z) + log1p(F - 1))`` avoids cancellation for small ``t``; ``F - 1`` is
    summed term by term (Gauss's series, ratio ``(A+j)(B+j) z / ((C+j)(j+1))``) where
    ``z <= 1/2``, elsewhere ``scipy.special.hyp2f1`` gives ``F``. Values that are still not
    finite (e.g. ``C`` at a pole) fall back to the quadrature of
    :meth:`BGNBD._expected_alive_by_integral`.
    """
    x, T, t = _arrays(x, T, t)
    shape = x.shape
    x, T, t = x.ravel(), T.ravel(), t.ravel()
    z = t / (alpha + T + t)
    A, B, C = a + b - 1.0 - r, a - 1.0, a + b + x - 1.0
    with np.errstate(all="ignore"):
        g = special.hyp2f1(A, B, C, z) - 1.0
        small = z <= 0.5
        if np.any(small):
            g[small] = _series_minus_one(A, B, C[small], z[small], g[small])
        value = -np.expm1((a - 1.0) * np.log1p(-z) + np.log1p(g))
    for i in np.flatnonzero(~np.isfinite(value)):
        mean = BGNBD(r, alpha, a, b)._expected_alive_by_integral(t[i], x[i], T[i])
        with np.errstate(all="ignore"):
            value[i] = mean * (a - 1.0) / (a + b + x[i] - 1.0)
    return value.reshape(shape)


def _series_minus_one(A: float, B: float, C: np.ndarray, z: np.ndarray,
                      fallback: np.ndarray, max_terms: int = 4000) -> np.ndarray:
    """``2F1(A, B; C; z) - 1`` by Gauss's series (for ``z <= 1/2``); ``fallback`` where it
    has not converged to 1e-17 relative after ``max_terms`` terms."""
    term = np.ones_like(z)
    total = np.zeros_like(z)
    for j in range(max_terms):
        term = term * (A + j) * (B + j) / ((C + j) * (j + 1.0)) * z
        total = total + term
        if j > 2 and np.all(np.abs(term) <= 1e-17 * np.maximum(np.abs(total), 1e-300)):
            return total
    return np.where(np.abs(term) <= 1e-14 * np.abs(total), total, fallback)


@dataclass(frozen=True)
class BGNBD:
    """BG/NBD parameters and the model's predictions (time in the unit of the data)."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        """The parameters as ``{"r", "alpha", "a", "b"}``."""
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    def log_likelihood(self, x, t_x, T) -> np.ndarray:
        """Individual log-likelihoods, see :func:`log_likelihood`."""
        return log_likelihood(self.r, self.alpha, self.a, self.b, x, t_x, T)

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """P(alive at T | x, t_x, T) (Fader, Hardie & Lee, "Computing P(alive)" note)::

            P = 1 / (1 + [x > 0] * a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x))

        A customer with no repeat purchase is alive by definition (drop-out happens only
        right after a purchase), so P = 1 for x = 0.
        """
        x, t_x, T = _arrays(x, t_x, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = (math.log(self.a) - np.log(self.b + x - 1.0)
                        + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
        log_odds = np.where(x > 0, log_odds, -np.inf)
        return special.expit(-log_odds)

    def expected_count(self, t) -> np.ndarray:
        """E[X(t)], expected purchases in (0, t] of a customer just acquired (paper eq. 9)::

            E[X(t)] = (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]

        Equal to :meth:`expected_purchases` with x = t_x = T = 0.
        """
        t = np.asarray(t, dtype=float)
        return self._conditional_alive(t, np.zeros_like(t), np.zeros_like(t))

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T], expected purchases in (T, T + t] (paper eq. 10)::

            E = (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x)
                                       * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
                / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))

        i.e. P(alive) times the expectation for a live customer. The hypergeometric term is
        evaluated by :func:`one_minus_hyp2f1_scaled` (stable for large x, T and t); within
        1e-4 of a = 1 (0/0) :meth:`_expected_alive_by_integral` is used instead.
        """
        t, x, t_x, T = _arrays(t, x, t_x, T)
        return self.p_alive(x, t_x, T) * self._conditional_alive(t, x, T)

    def _conditional_alive(self, t, x, T) -> np.ndarray:
        """Expected purchases in (T, T+t] of a customer alive at T with x repeats."""
        t, x, T = _arrays(t, x, T)
        shape = t.shape
        t, x, T = t.ravel(), x.ravel(), T.ravel()
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if abs(a - 1.0) < 1e-4:  # 0/0 in the closed form: use the integral
            value = np.full(t.shape, np.nan)
        else:
            gap = one_minus_hyp2f1_scaled(r, alpha, a, b, x, T, t)
            with np.errstate(all="ignore"):
                value = (a + b + x - 1.0) / (a - 1.0) * gap
        value = np.where(t > 0, value, 0.0)
        for i in np.flatnonzero(~np.isfinite(value)):  # also a + b + x - 1 = 0 (0 * inf)
            value[i] = self._expected_alive_by_integral(t[i], x[i], T[i])
        return np.maximum(value, 0.0).reshape(shape)

    def _expected_alive_by_integral(self, t: float, x: float, T: float) -> float:
        """The same expectation by quadrature (an independent check and a fallback).

        Given alive at T: lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x), and a live
        customer buys (1 - exp(-lambda p t)) / p times in expectation (geometric number of
        purchases until drop-out, truncated by time t), so::

            E = E_p[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p],  p ~ Beta(a, b+x)
        """
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        shape, scale = r + x, alpha + T
        log_beta = special.betaln(a, b + x)

        def gain(p: float) -> float:
            if p <= 0.0:
                return shape * t / scale
            return -math.expm1(-shape * math.log1p(p * t / scale)) / p

        if b + x <= 2.0:
            # quad's algebraic weight p^(a-1) (1-p)^(b+x-1) handles both endpoint singularities
            value, _ = integrate.quad(gain, 0.0, 1.0, weight="alg", wvar=(a - 1.0, b + x - 1.0),
                                      limit=200, epsabs=0.0, epsrel=1e-11)
            return float(value * math.exp(-log_beta))

        # for a < 1, u = p^a removes the singularity at 0 (p^(a-1) dp = du / a); the mass
        # of Beta(a, b+x) lies near p = a/(a+b+x), so break the range around there
        power = min(a, 1.0)

        def integrand(u: float) -> float:
            p = u ** (1.0 / power)
            if p >= 1.0 or (p <= 0.0 and a > power):
                return 0.0
            log_dens = (a - power) * math.log(p) if a > power else 0.0
            log_dens += (b + x - 1.0) * math.log1p(-p) - log_beta
            return gain(p) * math.exp(log_dens) / power

        mean = a / (a + b + x)
        points = sorted({min(k * mean, 0.999) ** power
                         for k in (0.01, 0.1, 0.5, 1, 2, 5, 20, 100)})
        value, _ = integrate.quad(integrand, 0.0, 1.0, points=points, limit=400, epsabs=0.0,
                                  epsrel=1e-11)
        return float(value)


@dataclass(frozen=True)
class BGNBDFit:
    """A fitted BG/NBD model.

    Attributes:
        model: The parameters at the optimum.
        log_likelihood: Sum of individual log-likelihoods at the optimum (without penalty).
        objective: The minimised value (negative log-likelihood plus penalty).
        n_customers: Customers used.
        converged: Whether the gradient at the optimum is ~0 (see
            :func:`minimize_log_params`).
        message: The largest gradient component.
    """

    model: BGNBD
    log_likelihood: float
    objective: float
    n_customers: int
    converged: bool
    message: str


def minimize_log_params(loglik: Callable[[np.ndarray], tuple[float, np.ndarray]],
                        starts: Sequence[Sequence[float]], *, penalizer: float = 0.0,
                        prior: tuple[np.ndarray, np.ndarray] | None = None
                        ) -> optimize.OptimizeResult:
    """Maximise a log-likelihood over phi = log(theta) from several starts.

    Minimises ``-LL(exp(phi)) + penalizer |phi|^2 + 1/2 (phi - phi0)' P (phi - phi0)`` (the
    last term when ``prior = (phi0, P)``) with L-BFGS-B and the analytic gradient
    ``d/dphi = theta * dLL/dtheta``, from each start (natural scale); the best optimum is
    kept. When its gradient is not ~0 it is polished with Nelder-Mead (derivative-free,
    robust on the flat ridges these likelihoods can have). ``success`` is set when
    ``max |gradient| < 0.05`` (a 1% change of any parameter moves the objective < 5e-4).

    Args:
        loglik: ``theta -> (sum of log-likelihoods, gradient in theta)``.
        starts: Starting parameter vectors.
        penalizer: Ridge strength on phi.
        prior: Gaussian prior on phi: centre and precision matrix.
    """

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(phi)
        with np.errstate(all="ignore"):
            ll, grad = loglik(theta)
        value = -ll + penalizer * float(phi @ phi)
        gradient = -np.asarray(grad) * theta + 2.0 * penalizer * phi
        if prior is not None:
            d = phi - prior[0]
            value += 0.5 * float(d @ prior[1] @ d)
            gradient = gradient + prior[1] @ d
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return 1e300, np.zeros_like(phi)
        return float(value), gradient

    with _one_blas_thread():
        return _minimize(objective, starts)


def _one_blas_thread():
    """One BLAS thread while optimising (with ``threadpoolctl``): waking OpenBLAS's threads
    for L-BFGS-B's 4 x 4 algebra made the fits ~15x slower on a busy 2-core machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - it comes with statsforecast
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _minimize(objective, starts) -> optimize.OptimizeResult:
    best = None
    for start in starts:
        x0 = np.log(np.asarray(start, dtype=float))
        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(x0)
        res = optimize.minimize(objective, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-8})
        if res.fun < 1e300 and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise ValueError("the likelihood is not finite at any starting point")
    if np.max(np.abs(objective(best.x)[1])) >= 0.05:
        polish = optimize.minimize(lambda u: objective(u)[0], best.x, method="Nelder-Mead",
                                   options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000})
        if polish.fun < best.fun:
            best = polish
    gradient = objective(best.x)[1]
    best.success = bool(np.max(np.abs(gradient)) < 0.05)
    best.message = f"max |d objective / d log(theta)| = {np.max(np.abs(gradient)):.2g}"
    return best


def _merge_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the stacked columns and their multiplicities."""
    table = np.column_stack(columns)
    unique, counts = np.unique(table, axis=0, return_counts=True)
    return [unique[:, j] for j in range(unique.shape[1])], counts.astype(float)


def fit_bgnbd(x, t_x, T, *, penalizer: float = 0.0,
              prior: tuple[np.ndarray, np.ndarray] | None = None,
              starts: Sequence[Sequence[float]] = DEFAULT_STARTS) -> BGNBDFit:
    """Maximum-likelihood fit of (r, alpha, a, b).

    Minimises, over phi = log(r, alpha, a, b)::

        -sum_i LL_i(phi) + penalizer * |phi|^2 + 1/2 (phi - phi0)' P (phi - phi0)

    where the last term is present only when ``prior = (phi0, P)`` is given (see
    :func:`core.clv.value.fit_with_prior`).

    Args:
        x, t_x, T: Per-customer summaries (see :mod:`core.clv.data`).
        penalizer: Ridge strength on the log-parameters (default 0: plain ML). A small value
            (e.g. 0.01-0.1) keeps a fit on few customers away from the boundary.
        prior: Optional Gaussian prior on phi: centre (4,) and precision matrix (4, 4).
        starts: Starting points (r, alpha, a, b).

    Raises:
        ValueError: if there is no customer or the inputs are invalid.
    """
    x, t_x, T = _arrays(x, t_x, T)
    x, t_x, T = x.ravel(), t_x.ravel(), T.ravel()
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(T < t_x) or not np.all(np.isfinite(T)):
        raise ValueError("need x >= 0 and 0 <= t_x <= T for every customer")
    (ux, ut, uT), w = _merge_rows(x, t_x, T)

    def loglik(theta: np.ndarray) -> tuple[float, np.ndarray]:
        values, grads = log_likelihood_gradient(*theta, ux, ut, uT)
        return float(w @ values), grads @ w

    res = minimize_log_params(loglik, starts, penalizer=penalizer, prior=prior)
    model = BGNBD(*map(float, np.exp(res.x)))
    ll = float(np.dot(w, model.log_likelihood(ux, ut, uT)))
    return BGNBDFit(model, ll, float(res.fun), int(x.size), bool(res.success), str(res.message))
