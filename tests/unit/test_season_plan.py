"""Season window, season demand and the season phases of core.season, on hand-made series
whose answers are worked out by hand.

The series: a 56-day season starting 2024-11-03, 2025-11-02 and 2026-11-01 (52 weeks apart).
The 2024 season sells 3 a day; the 2025 season 4, 2, 4, 2, ... (168 units); the 2026 season
3 a day; nothing outside the seasons. So for 2026 the seasonal-naive forecast is the 2025
days, and its daily errors against 2024 are +-1.
"""
import math
from datetime import date, timedelta
from types import SimpleNamespace

import numpy as np
import pytest

from core.policy import PolicyResult
from core.season import last_season, next_season, plan_season, season_demand, season_fields

STARTS = {2024: date(2024, 11, 3), 2025: date(2025, 11, 2), 2026: date(2026, 11, 1)}
SETTINGS = SimpleNamespace(review_days=7.0, season_salvage_share=1 / 3, season_sell_through=0.8)
RS = PolicyResult(safety_stock=5.0, reorder_point=20.0, order_up_to=80.0,
                  inventory_position=10.0, recommended_qty=70)


def value(day: date) -> float:
    for year, start in STARTS.items():
        t = (day - start).days
        if 0 <= t < 56:
            return 3.0 + (1 if t % 2 == 0 else -1) if year == 2025 else 3.0
    return 0.0


def series(last_day: date, n: int = 728) -> np.ndarray:
    return np.array([value(last_day - timedelta(days=n - 1 - i)) for i in range(n)])


def plan(last_day, lead, position, price=10.0, cost=6.0, rs=RS, **kw):
    return plan_season(series(last_day), np.zeros(56), 0.0, last_day, lead, SETTINGS,
                       position, price, cost, 0.95, rs, **kw)


def test_window_is_last_years_season_without_its_empty_weeks():
    last_day = date(2026, 10, 17)  # the 364 days start 2025-10-19, a week before the season
    w = last_season(series(last_day), last_day)
    assert (w.start, w.end, w.share) == (date(2025, 11, 2), date(2025, 12, 27), 1.0)
    w = next_season(series(last_day), last_day)
    assert (w.start, w.end) == (date(2026, 11, 1), date(2026, 12, 26))
    # in season, the window straddles the start of the 364 days and is still this season's
    w = next_season(series(date(2026, 12, 12)), date(2026, 12, 12))
    assert (w.start, w.end) == (date(2026, 11, 1), date(2026, 12, 26))
    # after the season, the next one; the 364 days now start 2026-01-12, so the weeks run
    # Monday to Sunday: the season (days 293-348) fills weeks 41-49 = Oct 26 - Dec 27,
    # moved on 52 weeks
    w = next_season(series(date(2027, 1, 10)), date(2027, 1, 10))
    assert (w.start, w.end) == (date(2027, 10, 25), date(2027, 12, 26))


def test_season_demand_is_last_season_with_seasonal_naive_errors():
    last_day = date(2026, 10, 17)
    d, source = season_demand(series(last_day), np.zeros(56), 0.0, last_day,
                              date(2026, 12, 26))
    assert source == "last season"  # a forecast of zeros has not seen the season
    assert d.mean == pytest.approx(168.0) and d.sd == pytest.approx(math.sqrt(56))
    # a forecast that sees the season is used for its days: 56 days of 2.5 a day, sigma 1
    fc = np.concatenate([np.zeros(15), np.full(41, 2.5)])
    d, source = season_demand(series(last_day), fc, 1.0, last_day, date(2026, 12, 26))
    # forecast days Oct 18 - Dec 12 (41 season days at 2.5); last year's Dec 14 - 27 beyond
    assert source == "forecast+last season"
    assert d.mean == pytest.approx(41 * 2.5 + 42.0)
    assert d.sd == pytest.approx(math.sqrt(56 * 1.0 + 14))


def test_pre_season_buy_at_critical_ratio_half_is_the_mean_less_the_position():
    # lead 14 + review 7 from Oct 17 reaches past Nov 1: the buy goes out now
    p = plan(date(2026, 10, 17), 14.0, 40.0)
    assert p.phase == "pre_season" and p.critical_ratio == pytest.approx(0.5)
    assert p.level == pytest.approx(168.0)
    assert p.policy.recommended_qty == 128 and p.buy_qty == 128
    assert p.policy.order_up_to == pytest.approx(168.0)
    # expected leftover of 168 units against N(168, sqrt 56): sigma * phi(0)
    assert p.leftover == pytest.approx(math.sqrt(56) * 0.398942, rel=1e-4)
    fields = season_fields(p)
    assert fields["season_start"] == date(2026, 11, 1)
    assert fields["season_buy_qty"] == 128 and fields["season_demand"] == pytest.approx(168)


def test_pre_season_buy_at_critical_ratio_080():
    settings = SimpleNamespace(review_days=7.0, season_salvage_share=0.0,
                               season_sell_through=0.8)
    p = plan_season(series(date(2026, 10, 17)), np.zeros(56), 0.0, date(2026, 10, 17), 14.0,
                    settings, 40.0, 10.0, 2.0, 0.95, RS)
    assert p.critical_ratio == pytest.approx(0.8)
    assert p.level == pytest.approx(168 + math.sqrt(56) * 0.8416, abs=0.01)
    assert p.policy.recommended_qty == 134  # 174.30 - 40, to whole units


def test_between_seasons_nothing_is_ordered_and_the_note_says_when():
    p = plan(date(2026, 10, 17), 3.0, 0.0)  # arrival Oct 20 + review 7 is still before Nov 1
    assert p.phase == "between_seasons" and p.policy.recommended_qty == 0
    assert p.buy_qty == 168  # the planned buy is shown
    assert "ordered from about 23 Oct 2026" in p.policy.note
    # on Oct 23 the order at the next review would be late: order now
    assert plan(date(2026, 10, 23), 3.0, 0.0).phase == "pre_season"
    # after the season's end: no orders until the next season's buy
    p = plan(date(2027, 1, 10), 3.0, 0.0)
    assert p.phase == "between_seasons" and p.policy.recommended_qty == 0
    assert p.window.start == date(2027, 10, 25)


def test_in_season_reorder_stops_when_it_would_arrive_after_the_season():
    p = plan(date(2026, 12, 12), 20.0, 10.0)  # arrives Jan 1, the season ends Dec 26
    assert p.phase == "in_season" and p.policy.recommended_qty == 0
    assert "after the season ends on 26 Dec 2026" in p.policy.note


def test_in_season_reorder_stops_when_the_position_covers_the_rest_of_the_season():
    # remaining season Dec 13-26: last year's Dec 14-27 = 4,2,... = 42 units; an order
    # placed now arrives Dec 15, after 6 of them sold: 36 to sell after arrival, and a
    # position of 45 still holds 39 then
    p = plan(date(2026, 12, 12), 3.0, 45.0)
    assert p.policy.recommended_qty == 0 and "covered by the 39" in p.policy.note
    assert p.policy.reorder_point == 0 and p.policy.order_up_to == 0


def test_in_season_reorder_is_capped_at_what_the_rest_of_the_season_sells():
    # CR 0.5: level = mean of the remaining 42 units; the (R, S) rule wanted 70
    p = plan(date(2026, 12, 12), 3.0, 10.0)
    assert p.level == pytest.approx(42.0)
    assert p.policy.recommended_qty == 32 and "capped" in p.policy.note
    assert p.policy.order_up_to == pytest.approx(42.0)
    # an (R, S) quantity below the cap stands
    small = PolicyResult(2.0, 12.0, 30.0, 10.0, 20)
    assert plan(date(2026, 12, 12), 3.0, 10.0, rs=small).policy.recommended_qty == 20


def test_no_supplier_or_price_keeps_the_numbers_but_orders_nothing():
    p = plan(date(2026, 10, 17), 14.0, 40.0, can_order=False)
    assert p.policy.recommended_qty == 0 and p.buy_qty == 128
    p = plan(date(2026, 10, 17), 14.0, 40.0, price=None)
    assert p.critical_ratio == 0.95 and "stands in" in p.policy.note


def test_sales_spread_over_the_year_keep_the_rs_rule():
    last_day = date(2026, 10, 17)
    p = plan_season(np.ones(728), np.ones(56), 0.5, last_day, 7.0, SETTINGS, 10.0, 10.0,
                    6.0, 0.95, RS)
    assert p.phase == "year_round" and p.policy.recommended_qty == RS.recommended_qty
    assert "no season to buy for" in p.policy.note
    assert season_fields(p)["season_start"] is None
