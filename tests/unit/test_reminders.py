"""Re-buy reminders on hand-made shops: due, stock, substitutes, consent, cooldown, re-runs."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
from sqlalchemy import func, select

from core.reminders import decide, plan_reminders, reminder_effect
from core.storage import (Customer, CustomerProductDue, InventorySnapshot, Location, Order,
                          OrderLine, PlanLine, PlanRun, Product, Reminder, Shop, Variant,
                          session_scope)

BOUGHT = [date(2026, 1, 1), date(2026, 1, 31), date(2026, 3, 2)]  # 1 unit every 30 days
DUE = date(2026, 4, 1)
AS_OF = date(2026, 3, 27)  # due in 5 days
CONTACT = {"ok": dict(accepts_marketing=True, email="ok@example.test"),
           "unsub": dict(accepts_marketing=False, email="no@example.test"),
           "sms": dict(accepts_marketing=True, phone="+15550001"),
           "silent": dict(accepts_marketing=True),
           "gone": dict(accepts_marketing=True, redacted_at=datetime(2026, 2, 1,
                                                                    tzinfo=timezone.utc))}


def _utc(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


class World:
    """A shop with coffee A (250 g, 500 g), coffee B (same family) and a tea."""

    def __init__(self, s, customers=("ok",)):
        self.s = s
        self.shop = Shop(name="rem")
        s.add(self.shop)
        s.flush()
        sid = self.shop.id
        self.loc = Location(shop_id=sid, external_id="1", name="Warehouse")
        coffee_a = Product(shop_id=sid, external_id="pa", title="Coffee A", family="Coffee")
        coffee_b = Product(shop_id=sid, external_id="pb", title="Coffee B", family="Coffee")
        tea = Product(shop_id=sid, external_id="pt", title="Tea", family="Tea")
        s.add_all([self.loc, coffee_a, coffee_b, tea])
        s.flush()
        self.v = {}
        for sku, prod, price in (("A250", coffee_a, 10.0), ("A500", coffee_a, 18.0),
                                 ("B250", coffee_b, 11.0), ("T50", tea, 10.0)):
            v = Variant(shop_id=sid, external_id=sku, product_id=prod.id, sku=sku, price=price)
            s.add(v)
            s.flush()
            self.v[sku] = v.id
        self.c = {}
        for name in customers:
            c = Customer(shop_id=sid, external_id=name, **CONTACT[name])
            s.add(c)
            s.flush()
            self.c[name] = c.id
            for day in BOUGHT:
                self.buy(name, "A250", day)

    def buy(self, name, sku, day, qty=1):
        self.n = getattr(self, "n", 0) + 1
        o = Order(shop_id=self.shop.id, external_id=f"o{self.c[name]}-{day}-{sku}-{self.n}",
                  customer_id=self.c[name], created_at=_utc(day))
        self.s.add(o)
        self.s.flush()
        self.s.add(OrderLine(shop_id=self.shop.id, external_id=f"l{o.external_id}",
                             order_id=o.id, variant_id=self.v[sku], sku=sku, quantity=qty,
                             price=10.0))
        self.s.flush()

    def stock(self, **levels):
        """A finished plan run: ``sku=(on_hand, stockout_date)`` per variant."""
        run = PlanRun(shop_id=self.shop.id, data_cutoff=AS_OF, status="done")
        self.s.add(run)
        self.s.flush()
        for sku, (on_hand, out) in levels.items():
            self.s.add(PlanLine(plan_run_id=run.id, shop_id=self.shop.id, variant_id=self.v[sku],
                                location_id=self.loc.id, sku=sku, list="staple", status="ok",
                                service_level=0.95, review_days=7, on_hand=on_hand,
                                stockout_date=out))
        self.s.flush()

    def plan(self, as_of=AS_OF, **kw):
        kw.setdefault("clv_df", pd.DataFrame({"customer_id": list(self.c.values()),
                                              "p_alive": 0.9, "expected_purchases_90d": 1.0,
                                              "predicted_clv": 50.0}))
        kw.setdefault("consumables", [self.v["A250"]])
        return plan_reminders(self.s, self.shop, as_of, **kw)

    def reminders(self):
        return list(self.s.scalars(select(Reminder).order_by(Reminder.id)))


IN_STOCK = dict(A250=(40.0, None), A500=(10.0, None), B250=(10.0, None), T50=(5.0, None))


def test_due_customer_gets_a_candidate_and_the_due_row(sessions):
    with session_scope(sessions) as s:
        w = World(s)
        w.stock(**IN_STOCK)
        plan = w.plan()
        assert len(plan) == 1
        r = plan.iloc[0]
        assert (r["status"], r["reason"], r["channel"]) == ("candidate", None, "email")
        assert r["due_date"] == DUE and r["variant_id"] == w.v["A250"] and bool(r["new"])
        due = s.scalar(select(CustomerProductDue))
        assert (due.next_purchase_date, due.cycle_days, due.last_quantity) == (DUE, 30.0, 1.0)
        assert due.last_purchase_date == BOUGHT[-1] and due.p_alive == 0.9
        # out of the window: nothing to remind yet, but the due row is kept up to date
        assert len(w.plan(as_of=AS_OF - timedelta(days=10))) == 0
        assert len(w.plan(as_of=AS_OF, window_days=3)) == 0
        assert len(w.reminders()) == 1


@pytest.mark.parametrize("a250", [(40.0, DUE - timedelta(days=2)), (40.0, DUE), (0.0, None)])
def test_out_of_stock_without_substitute_is_suppressed(sessions, a250):
    with session_scope(sessions) as s:
        w = World(s)
        w.stock(A250=a250, A500=(0.0, None), B250=(5.0, DUE - timedelta(days=1)),
                T50=(50.0, None))
        r = w.plan().iloc[0]
        assert (r["status"], r["reason"]) == ("suppressed", "out_of_stock")
        assert pd.isna(r["substitute_variant_id"])


def test_stockout_after_the_due_date_is_in_stock(sessions):
    with session_scope(sessions) as s:
        w = World(s)
        w.stock(A250=(3.0, DUE + timedelta(days=1)))
        assert w.plan().iloc[0]["status"] == "candidate"


def test_sibling_in_stock_becomes_the_substitute(sessions):
    with session_scope(sessions) as s:
        w = World(s)
        w.stock(A250=(0.0, None), A500=(12.0, None), B250=(30.0, None), T50=(9.0, None))
        r = w.plan().iloc[0]
        assert (r["status"], r["reason"]) == ("candidate", "substitute")
        assert r["substitute_variant_id"] == w.v["A500"]  # same product before same family
        row = w.reminders()[0]
        assert row.substitute_variant_id == w.v["A500"] and row.status == "candidate"


def test_family_substitute_when_the_product_is_out(sessions):
    with session_scope(sessions) as s:
        w = World(s)
        w.stock(A250=(0.0, None), A500=(0.0, None), B250=(30.0, None), T50=(9.0, None))
        r = w.plan().iloc[0]
        assert r["reason"] == "substitute" and r["substitute_variant_id"] == w.v["B250"]


def test_snapshot_decides_without_a_plan_run(sessions):
    with session_scope(sessions) as s:
        w = World(s)
        for sku, qty in (("A250", 0.0), ("A500", 4.0)):
            s.add(InventorySnapshot(shop_id=w.shop.id, variant_id=w.v[sku],
                                    location_id=w.loc.id, day=AS_OF, on_hand=qty))
        s.flush()
        r = w.plan().iloc[0]
        assert r["reason"] == "substitute" and r["substitute_variant_id"] == w.v["A500"]


def test_unsubscribed_customer_is_never_a_candidate(sessions):
    with session_scope(sessions) as s:
        w = World(s, customers=("ok", "unsub"))
        w.stock(A250=(0.0, None), A500=(12.0, None))
        plan = w.plan().set_index("customer_id")
        assert plan.loc[w.c["unsub"], "status"] == "suppressed"
        assert plan.loc[w.c["unsub"], "reason"] == "no_marketing_consent"
        assert pd.isna(plan.loc[w.c["unsub"], "substitute_variant_id"])
        assert plan.loc[w.c["ok"], "status"] == "candidate"
        # consent withdrawn after planning: the re-run suppresses the candidate
        s.get(Customer, w.c["ok"]).accepts_marketing = False
        s.flush()
        again = w.plan()
        assert set(again["status"]) == {"suppressed"}
        assert set(again["reason"]) == {"no_marketing_consent"}
        assert all(r.status == "suppressed" for r in w.reminders())


def test_contact_rules(sessions):
    with session_scope(sessions) as s:
        w = World(s, customers=("sms", "silent", "gone"))
        w.stock(**IN_STOCK)
        plan = w.plan().set_index("customer_id")
        assert tuple(plan.loc[w.c["sms"], ["status", "channel"]]) == ("candidate", "sms")
        assert plan.loc[w.c["silent"], "reason"] == "no_contact"
        assert plan.loc[w.c["gone"], "reason"] == "redacted"


@pytest.mark.parametrize("days_ago, status", [(5, "suppressed"), (13, "suppressed"),
                                              (14, "candidate"), (30, "candidate")])
def test_recently_sent_reminder_means_cooldown(sessions, days_ago, status):
    with session_scope(sessions) as s:
        w = World(s)
        w.stock(**IN_STOCK)
        s.add(Reminder(shop_id=w.shop.id, customer_id=w.c["ok"], variant_id=w.v["T50"],
                       due_date=AS_OF - timedelta(days=days_ago), status="sent",
                       sent_at=_utc(AS_OF - timedelta(days=days_ago))))
        s.flush()
        r = w.plan().iloc[0]
        assert r["status"] == status
        assert r["reason"] == ("cooldown" if status == "suppressed" else None)


def test_rerun_does_not_duplicate_and_leaves_sent_reminders_alone(sessions):
    with session_scope(sessions) as s:
        w = World(s, customers=("ok", "unsub"))
        w.stock(**IN_STOCK)
        first = w.plan()
        second = w.plan()
        third = w.plan(as_of=AS_OF + timedelta(days=2))
        assert first["new"].all() and not second["new"].any() and not third["new"].any()
        assert s.scalar(select(func.count()).select_from(Reminder)) == 2
        assert s.scalar(select(func.count()).select_from(CustomerProductDue)) == 2
        sent = next(r for r in w.reminders() if r.customer_id == w.c["ok"])
        sent.status, sent.sent_at = "sent", _utc(AS_OF)
        s.flush()
        w.stock(A250=(0.0, None))  # stock changes after sending: the sent row stays as it was
        fourth = w.plan(as_of=AS_OF + timedelta(days=1)).set_index("customer_id")
        assert fourth.loc[w.c["ok"], "status"] == "sent"
        assert sent.status == "sent" and sent.reason is None
        assert s.scalar(select(func.count()).select_from(Reminder)) == 2


def test_buying_again_supersedes_the_open_reminder(sessions):
    with session_scope(sessions) as s:
        w = World(s)
        w.stock(**IN_STOCK)
        w.plan()
        w.buy("ok", "A250", AS_OF + timedelta(days=1), qty=2)
        plan = w.plan(as_of=AS_OF + timedelta(days=1))
        assert len(plan) == 0  # next due is 60 days out
        old = w.reminders()[0]
        assert old.status == "superseded" and "2026-05-27" in old.reason
        due = s.scalar(select(CustomerProductDue))
        assert due.next_purchase_date == AS_OF + timedelta(days=61) and due.last_quantity == 2


def test_decide_rule_order():
    ok = {"accepts_marketing": True, "redacted_at": None, "email": "a@b", "phone": None}
    assert decide(ok, None, AS_OF, 14, True, None) == ("candidate", None)
    assert decide(dict(ok, accepts_marketing=False), AS_OF, AS_OF, 14, False, 7) == \
        ("suppressed", "no_marketing_consent")
    assert decide(ok, AS_OF - timedelta(days=1), AS_OF, 14, False, 7) == ("suppressed", "cooldown")
    assert decide(ok, None, AS_OF, 14, False, 7) == ("candidate", "substitute")
    assert decide(ok, None, AS_OF, 14, False, None) == ("suppressed", "out_of_stock")


def test_reminder_effect_counts_orders_after_sending(sessions):
    with session_scope(sessions) as s:
        w = World(s, customers=("ok", "sms", "unsub"))
        w.stock(**IN_STOCK)
        w.plan()
        rows = {r.customer_id: r for r in w.reminders()}
        for name in ("ok", "sms"):
            rows[w.c[name]].status, rows[w.c[name]].sent_at = "sent", _utc(AS_OF, 8)
        s.flush()
        w.buy("ok", "A250", AS_OF + timedelta(days=3))  # bought the reminded coffee
        w.buy("sms", "T50", AS_OF + timedelta(days=20))  # bought, but after the window
        effect = reminder_effect(s, w.shop, window_days=14)
        assert effect.loc["sent", "reminders"] == 2
        assert effect.loc["sent", "product_orders"] == 1 and effect.loc["sent", "any_orders"] == 1
        assert effect.loc["sent", "product_rate"] == 0.5
        assert effect.loc["not_sent", "reminders"] == 1
        wide = reminder_effect(s, w.shop, window_days=30)
        assert wide.loc["sent", "any_orders"] == 2 and wide.loc["sent", "product_orders"] == 1


def test_cli_plans_reminders_and_scores_customers(tmp_path, monkeypatch, capsys):
    import argparse

    from connector import cli_customers
    from core.storage import make_engine, make_sessionmaker, upgrade

    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    eng = make_engine(url)
    upgrade(eng)
    with session_scope(make_sessionmaker(eng)) as s:
        World(s, customers=("ok", "unsub", "sms")).stock(**IN_STOCK)
    eng.dispose()
    parser = argparse.ArgumentParser(prog="restock")
    cli_customers.register(parser.add_subparsers(dest="command", required=True))

    def run(*argv):
        args = parser.parse_args(list(argv))
        return args.func(args)

    assert run("reminders", "plan", "--as-of", AS_OF.isoformat()) == 0
    out = capsys.readouterr().out
    assert "3 reminders due 2026-03-27" in out and "(3 new)" in out
    assert "candidate" in out and "suppressed no_marketing_consent" in out
    assert run("reminders", "plan", "--as-of", AS_OF.isoformat()) == 0
    assert "(0 new)" in capsys.readouterr().out
    assert run("customers", "score", "--as-of", AS_OF.isoformat()) == 0
    out = capsys.readouterr().out
    assert "scored 3 customers of shop 'rem' as of 2026-03-27" in out
    assert "active_established_low" in out or "active_new_low" in out
    assert run("reminders", "effect") == 0 and "not_sent" in capsys.readouterr().out
    assert run("customers", "score", "--as-of", "2026-02-30") == 2
    assert "is not a date" in capsys.readouterr().err
    assert run("reminders", "plan", "--shop", "nope") == 2
    assert "unknown shop 'nope'" in capsys.readouterr().err
