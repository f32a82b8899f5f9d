"""Customer lifetime value (core.clv, connector.cli_clv) against the published CDNOW fits.

The CDNOW data come from the ``lifetimes`` wheel (test extra); tests that need them are
skipped with a reason when it is not installed. Published figures: Fader, Hardie & Lee
(2005), "Counting Your Customers the Easy Way" (BG/NBD: r = 0.243, alpha = 4.414, a = 0.793,
b = 2.426, LL = -9582.4; a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make
1.226 purchases in the next 39 weeks) and Fader & Hardie's Gamma-Gamma note (p = 6.25,
q = 3.74, gamma = 15.44, corr(x, m) = 0.11).
"""
from __future__ import annotations

import argparse
import ast
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from connector import cli_clv
from core.clv import (BGNBD, CDNOW_PRIOR, GammaGamma, customer_value, fit_bgnbd,
                      fit_gamma_gamma, fit_models, fit_with_prior, holdout_weeks, summarize)
from core.clv.bgnbd import log_likelihood_gradient
from core.clv.data import cdnow_path, read_cdnow
from core.clv.gamma_gamma import log_likelihood_gradient as gg_gradient
from core.clv.value import WEEKS_PER_MONTH

PUBLISHED = BGNBD(0.243, 4.414, 0.793, 2.426)
CAL_END, HOLDOUT_END = "1997-09-30", "1998-06-30"


def _cdnow(which: str = "sample") -> pd.DataFrame:
    try:
        cdnow_path(which)
    except FileNotFoundError as exc:
        pytest.skip(f"CDNOW data not available ({exc}); pip install 'restock[test]'")
    return read_cdnow(which)


@pytest.fixture(scope="module")
def cdnow_tx() -> pd.DataFrame:
    return _cdnow()


@pytest.fixture(scope="module")
def cdnow(cdnow_tx) -> pd.DataFrame:
    return summarize(cdnow_tx, CAL_END, HOLDOUT_END)


@pytest.fixture(scope="module")
def full_fit(cdnow):
    return fit_models(cdnow)


# --- data ------------------------------------------------------------------------------

def test_summary_weeks_same_day_merge_and_holdout():
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "a", "b", "b", "c"],
        "date": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-15 18:30", "2024-03-01",
                 "2024-01-29", "2024-02-05", "2024-02-20"],
        "amount": [10.0, 5.0, 20.0, 4.0, 7.0, 3.0, 0.0, 9.0],
    })
    s = summarize(tx, "2024-02-12")
    assert list(s.index) == ["a", "b"]  # c starts after the calibration end
    a, b = s.loc["a"], s.loc["b"]
    assert (a.x, a.t_x, a["T"], a.monetary, a.holdout) == (1, 2.0, 6.0, 24.0, 1)
    assert (b.x, b.t_x, b["T"], b.monetary, b.holdout) == (1, 1.0, 2.0, 0.0, 0)
    assert summarize(tx, "2024-02-12", "2024-02-29").loc["a", "holdout"] == 0
    assert holdout_weeks("2024-02-12", "2024-03-11") == 4.0
    stamps = pd.to_datetime(tx["date"], format="ISO8601")
    zoned = tx.assign(date=stamps.dt.tz_localize("UTC"))
    pd.testing.assert_frame_equal(summarize(zoned, "2024-02-12"), s)


def test_cdnow_file_format_and_hardie_summary(cdnow_tx, cdnow):
    assert list(cdnow_tx.columns[:4]) == ["customer_id", "date", "cds", "amount"]
    assert cdnow_tx["customer_id"].nunique() == 2357 == len(cdnow)
    assert cdnow_tx["date"].min() == pd.Timestamp("1997-01-01")
    assert cdnow_tx["date"].max() == pd.Timestamp("1998-06-30")
    one = cdnow.loc[1]
    assert (one.x, round(one.t_x, 2), round(one["T"], 2)) == (2, 30.43, 38.86)
    assert (cdnow.x > 0).sum() == 946 and cdnow.x.sum() == 2457
    hardie = Path(cdnow_path()).with_name("cdnow_customers_summary_with_transactions.csv")
    if hardie.is_file():
        ref = pd.read_csv(hardie).set_index("ID")
        assert (cdnow.x - ref.x).abs().max() == 0
        assert (cdnow.t_x - ref.t_x).abs().max() < 0.005
        assert (cdnow["T"] - ref["T"]).abs().max() < 0.005
        assert (cdnow.monetary - ref.zbar).abs().max() < 0.006


# --- BG/NBD -----------------------------------------------------------------------------

def test_bgnbd_fit_matches_published(full_fit):
    fit = full_fit.bgnbd
    for name, value in PUBLISHED.as_dict().items():
        assert getattr(fit.model, name) == pytest.approx(value, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert fit.converged and fit.n_customers == 2357


def test_bgnbd_log_likelihood_at_published_parameters(cdnow):
    ll = PUBLISHED.log_likelihood(cdnow.x, cdnow.t_x, cdnow["T"]).sum()
    assert ll == pytest.approx(-9582.4, abs=0.1)


def test_log_likelihood_closed_form_and_x_zero():
    r, alpha, a, b = 0.5, 3.0, 0.8, 2.0
    beta = special.beta
    for x, t_x, T in [(0, 0.0, 10.0), (3, 7.0, 12.0)]:
        g = special.gamma(r + x) * alpha ** r / special.gamma(r)
        lik = beta(a, b + x) / beta(a, b) * g / (alpha + T) ** (r + x)
        if x > 0:
            lik += beta(a + 1, b + x - 1) / beta(a, b) * g / (alpha + t_x) ** (r + x)
        assert BGNBD(r, alpha, a, b).log_likelihood(x, t_x, T) == pytest.approx(math.log(lik))


def test_analytic_gradients():
    x, t_x, T = np.array([0, 1, 2, 5, 30.0]), np.array([0, 3, 10, 20, 35.0]), np.full(5, 40.0)
    theta, h = np.array([0.3, 4.0, 0.8, 2.4]), 1e-6
    _, grad = log_likelihood_gradient(*theta, x, t_x, T)
    for k, e in enumerate(np.eye(4) * h):
        num = (BGNBD(*(theta + e)).log_likelihood(x, t_x, T)
               - BGNBD(*(theta - e)).log_likelihood(x, t_x, T)) / (2 * h)
        np.testing.assert_allclose(grad[k], num, rtol=1e-5, atol=1e-7)
    m, xs = np.array([10, 20, 5, 50, 1.0]), np.array([1, 2, 3, 10, 1.0])
    phi = np.array([6, 3.7, 15])
    _, grad = gg_gradient(*phi, xs, m)
    for k, e in enumerate(np.eye(3) * h):
        num = (GammaGamma(*(phi + e)).log_likelihood(xs, m)
               - GammaGamma(*(phi - e)).log_likelihood(xs, m)) / (2 * h)
        np.testing.assert_allclose(grad[k], num, rtol=1e-5, atol=1e-7)


def test_paper_example_conditional_expectation_and_p_alive():
    m = PUBLISHED
    assert float(m.expected_purchases(39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=5e-4)
    odds = m.a / (m.b + 1) * ((m.alpha + 38.86) / (m.alpha + 30.43)) ** (m.r + 2)
    assert float(m.p_alive(2, 30.43, 38.86)) == pytest.approx(1 / (1 + odds), rel=1e-12)


def test_p_alive_properties():
    m = PUBLISHED
    assert np.all(m.p_alive(0, 0.0, [0.0, 10.0, 1e4]) == 1.0)  # no repeat: alive by definition
    recency = m.p_alive(3, np.linspace(0, 30, 31), 30.0)
    assert np.all(np.diff(recency) > 0) and recency[-1] == pytest.approx(1 / (1 + m.a / (m.b + 2)))
    age = m.p_alive(3, 5.0, np.linspace(5, 200, 40))
    assert np.all(np.diff(age) < 0) and np.all((age > 0) & (age <= 1))
    assert 0 <= m.p_alive(5000, 1.0, 1e4) < 1e-12  # no overflow for extreme inputs


def test_unconditional_expectation_eq9_and_limits():
    m = PUBLISHED
    t = np.array([1.0, 39.0, 78.0])
    z = t / (m.alpha + t)
    eq9 = (m.a + m.b - 1) / (m.a - 1) * (
        1 - (m.alpha / (m.alpha + t)) ** m.r * special.hyp2f1(m.r, m.b, m.a + m.b - 1, z))
    np.testing.assert_allclose(m.expected_count(t), eq9, rtol=1e-10)
    np.testing.assert_allclose(m.expected_purchases(t, 0, 0, 0), m.expected_count(t), rtol=1e-13)
    assert float(m.expected_count(0.0)) == 0.0
    assert np.all(np.diff(m.expected_count(np.linspace(0, 500, 50))) > 0)


def test_conditional_expectation_matches_eq10_and_quadrature_at_extremes():
    m = PUBLISHED
    for x, t_x, T, t in [(1, 5.0, 20.0, 10.0), (4, 30.0, 38.0, 39.0)]:
        z = t / (m.alpha + T + t)
        eq10 = ((m.a + m.b + x - 1) / (m.a - 1) * (
            1 - ((m.alpha + T) / (m.alpha + T + t)) ** (m.r + x)
            * special.hyp2f1(m.r + x, m.b + x, m.a + m.b + x - 1, z)) * m.p_alive(x, t_x, T))
        assert float(m.expected_purchases(t, x, t_x, T)) == pytest.approx(float(eq10), rel=1e-10)
    models = [PUBLISHED, BGNBD(2.5, 3.0, 4.0, 9.0), BGNBD(0.5, 50.0, 1.5, 0.3),
              BGNBD(20.0, 2.0, 20.0, 0.2), BGNBD(1.0, 1.0, 1.0, 1.0), BGNBD(0.3, 1.0, 0.25, 0.75)]
    cases = [(1e5, 0, 0), (52, 500, 60), (5000, 300, 300), (1e6, 50, 100), (0.01, 1000, 52),
             (52, 5000, 500), (1e4, 1e4, 1e3), (1e-6, 3, 3)]
    for model in models:
        closed = model._conditional_alive(*np.array(cases, dtype=float).T)
        for value, (t, x, T) in zip(closed, cases):
            assert np.isfinite(value) and value >= 0
            assert value == pytest.approx(model._expected_alive_by_integral(t, x, T),
                                          rel=1e-8), (model, t, x, T)
    grid = PUBLISHED.expected_purchases(np.array([1, 10, 100, 1e3, 1e4]), 50, 40, 52)
    assert np.all(np.diff(grid) > 0)


# --- Gamma-Gamma ------------------------------------------------------------------------

def test_gamma_gamma_matches_published(full_fit):
    gg = full_fit.gamma_gamma
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert getattr(gg.model, name) == pytest.approx(value, rel=0.01), name
    assert gg.n_customers == 946 and gg.converged
    assert gg.correlation == pytest.approx(0.11, abs=0.01)  # the note's independence check


def test_gamma_gamma_expected_spend():
    gg = GammaGamma(6.25, 3.74, 15.44)
    mean = 6.25 * 15.44 / 2.74
    assert float(gg.expected_spend(0, np.nan)) == pytest.approx(mean)
    w = 6.25 * 3 / (6.25 * 3 + 2.74)
    assert float(gg.expected_spend(3, 40.0)) == pytest.approx(w * 40 + (1 - w) * mean)
    assert gg.expected_spend(200, 40.0) == pytest.approx(40.0, rel=0.01)
    with pytest.raises(ValueError, match="repeat purchase"):
        fit_gamma_gamma([0, 0], [np.nan, np.nan])


# --- holdout, CLV, small shops -------------------------------------------------------------

def test_holdout_weeks_40_to_78(cdnow, full_fit, cdnow_tx):
    bg = full_fit.models.bgnbd
    weeks = holdout_weeks(CAL_END, HOLDOUT_END)
    expected = bg.expected_purchases(weeks, cdnow.x, cdnow.t_x, cdnow["T"])
    assert weeks == 39.0 and int(cdnow.holdout.sum()) == 1882
    assert expected.sum() == pytest.approx(1653.4, abs=1.0)  # 12% under the actual 1,882
    by_x = pd.DataFrame({"x": np.minimum(cdnow.x, 7), "e": expected, "a": cdnow.holdout}
                        ).groupby("x").mean()
    assert np.all(np.diff(by_x.e) > 0) and np.corrcoef(by_x.e, by_x.a)[0, 1] > 0.98
    # cumulative repeat purchases by week 78 (the paper's tracking plot): within 5%
    age = (cdnow.first_purchase - pd.Timestamp("1997-01-01")).dt.days.to_numpy() / 7
    predicted = bg.expected_count(78 - age).sum()
    actual = cdnow.x.sum() + cdnow.holdout.sum()
    assert abs(predicted / actual - 1) < 0.05


def test_customer_value(cdnow, full_fit):
    models, head = full_fit.models, cdnow.head(200)
    plain = customer_value(models, head, months=12, monthly_discount=0.0)
    spend = models.gamma_gamma.expected_spend(head.x, head.monetary)
    twelve = models.bgnbd.expected_purchases(12 * WEEKS_PER_MONTH, head.x, head.t_x, head["T"])
    np.testing.assert_allclose(plain.clv, twelve * spend, rtol=1e-10)
    disc = customer_value(models, head, months=12, monthly_discount=0.01, margin=0.4)
    assert np.all(disc.clv < 0.4 * plain.clv) and np.all(disc.clv > 0.4 * plain.clv / 1.01 ** 12)
    longer = customer_value(models, head, months=24, monthly_discount=0.01, margin=0.4)
    assert np.all(longer.clv > disc.clv)


def test_penalizer_pulls_log_parameters_toward_zero(cdnow):
    sub = cdnow.iloc[:300]
    plain = fit_bgnbd(sub.x, sub.t_x, sub["T"])
    ridge = fit_bgnbd(sub.x, sub.t_x, sub["T"], penalizer=5.0)
    norm = lambda m: float(np.sum(np.log(list(m.as_dict().values())) ** 2))  # noqa: E731
    assert norm(ridge.model) < norm(plain.model) and ridge.log_likelihood < plain.log_likelihood


def test_fit_with_prior_brings_small_shop_closer_to_full_fit(cdnow_tx, cdnow, full_fit):
    master = _cdnow("master")
    others = master[~master["customer_id"].isin(set(cdnow_tx["master_id"]))]
    pooled = fit_models(summarize(others, CAL_END)).models  # 21,213 other customers
    full = full_fit.models.bgnbd.expected_purchases(39, cdnow.x, cdnow.t_x, cdnow["T"])

    def error(models):
        mine = models.bgnbd.expected_purchases(39, cdnow.x, cdnow.t_x, cdnow["T"])
        return float(np.mean(np.abs(mine - full)))

    rng = np.random.default_rng(0)
    plain, shrunk = [], []
    for _ in range(5):
        sub = cdnow.iloc[rng.choice(len(cdnow), 300, replace=False)]
        plain.append(error(fit_models(sub).models))
        fit = fit_with_prior(sub, pooled)  # default weight: 100 customers
        assert fit.prior_share == pytest.approx(100 / 400)
        shrunk.append(error(fit.models))
    assert np.all(np.array(shrunk) < np.array(plain))
    assert np.mean(shrunk) < 0.85 * np.mean(plain)
    zero = fit_with_prior(sub, pooled, weight=0).models.bgnbd
    np.testing.assert_allclose(list(zero.as_dict().values()),
                               list(fit_models(sub).models.bgnbd.as_dict().values()), rtol=1e-4)


def test_fit_with_prior_without_repeat_customers():
    summary = pd.DataFrame({"x": [0, 0, 0], "t_x": [0.0, 0, 0], "T": [5.0, 8, 12],
                            "monetary": [np.nan] * 3})
    fit = fit_with_prior(summary, CDNOW_PRIOR)
    assert fit.gamma_gamma.model.p == pytest.approx(6.25, rel=1e-3)
    assert np.all(np.isfinite(customer_value(fit.models, summary).clv))
    bare = fit_with_prior(summary, CDNOW_PRIOR.bgnbd)  # no information: estimated on the data
    assert np.isfinite(bare.bgnbd.log_likelihood)


# --- CLI -------------------------------------------------------------------------------------

def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="restock")
    cli_clv.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["clv", *argv])
    return args.func(args)


def test_cli_on_cdnow(cdnow_tx, tmp_path):
    csv = tmp_path / "tx.csv"
    cdnow_tx.assign(date=cdnow_tx["date"].dt.strftime("%Y-%m-%d"))[
        ["customer_id", "date", "amount", "cds"]].to_csv(csv, index=False)
    out = tmp_path / "result.json"
    assert _run(["--transactions", str(csv), "--calibration-end", CAL_END,
                 "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["customers"] == 2357
    bg, gg, hold = result["bgnbd"], result["gamma_gamma"], result["holdout"]
    for name, value in PUBLISHED.as_dict().items():
        assert bg[name] == pytest.approx(value, rel=0.01)
    assert bg["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)
    assert (gg["p"], gg["q"], gg["v"]) == pytest.approx((6.25, 3.74, 15.44), rel=0.01)
    assert hold["actual_repeat_purchases"] == 1882
    assert hold["expected_repeat_purchases"] == pytest.approx(1653.4, abs=1.0)


@pytest.mark.parametrize("text, end, message", [
    ("customer_id,day,amount\na,2024-01-01,5\n", "2024-06-30", "line 1: missing required "
     "column 'date'"),
    ("customer_id,date,amount\na,2024-01-01,5\na,2024-02-30,5\n", "2024-06-30",
     "tx.csv, line 3, column 'date': '2024-02-30' is not a date"),
    ("customer_id,date,amount\na,2024-01-01,5\na,2024-02-03,abc\n", "2024-06-30",
     "tx.csv, line 3, column 'amount': 'abc' is not a number"),
    ("customer_id,date,amount\na,2024-01-01,5\na,2024-02-03,-1\n", "2024-06-30",
     "tx.csv, line 3, column 'amount': '-1' is negative"),
    ("customer_id,date,amount\na,2024-01-01,5\na,2024-01-01,7\nb,2024-01-03,5\n",
     "2024-06-30", "none of the 2 customers made a repeat purchase"),
    ("customer_id,date,amount\na,2024-01-01,5\na,2024-02-01,7\n", "2023-12-31",
     "no customer bought on or before the calibration end 2023-12-31"),
    ("customer_id,date,amount\na,2024-01-01,5\na,2024-02-01,7\n", "31/12/2023",
     "--calibration-end '31/12/2023' is not a date"),
])
def test_cli_bad_input(tmp_path, capsys, text, end, message):
    csv = tmp_path / "tx.csv"
    csv.write_text(text)
    assert _run(["--transactions", str(csv), "--calibration-end", end]) == 2
    err = capsys.readouterr().err
    assert err.startswith("restock: error: ") and message in err


def test_cli_missing_file(tmp_path, capsys):
    assert _run(["--transactions", str(tmp_path / "nope.csv"), "--calibration-end",
                 "2024-01-01"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_core_clv_imports_no_web_or_connector_code():
    forbidden = {"flask", "requests", "httpx", "urllib3", "connector", "webhooks", "shopify"}
    root = Path(__file__).resolve().parents[2] / "core" / "clv"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in forbidden, (path.name, name)
