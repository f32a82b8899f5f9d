"""Purchase-order lifecycle: the state machine, draft edits, auto-approval, receipts and
lead times learned from receipts (hand-made dates, hand-computed mean and deviation)."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core.leadtimes import configured_lead_time, learn_lead_times, mean_std
from core.plan_inputs import read_inputs
from core.purchasing import (IllegalTransition, PurchasingError, add_line, auto_approve,
                             draft_purchase_orders, edit_line, mark_sent, merge_drafts,
                             move_line, order_lines, order_value, set_status)
from core.receiving import ReceivingError, receive
from core.storage import (PO_STATUSES, Location, PlanLine, PlanRun, PurchaseOrder,
                          PurchaseOrderLine, Receipt, Shop, Supplier, SupplierItem, Variant)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)

# written out by hand, not read from TRANSITIONS, so the test checks the table
LEGAL = {("draft", "approved"), ("draft", "cancelled"), ("approved", "sent"),
         ("approved", "cancelled"), ("sent", "partially_received"), ("sent", "received"),
         ("sent", "cancelled"), ("partially_received", "partially_received"),
         ("partially_received", "received"), ("partially_received", "cancelled")}


@pytest.mark.parametrize("src,dst", [(a, b) for a in PO_STATUSES for b in PO_STATUSES])
def test_every_transition_is_legal_or_refused(src, dst):
    po = PurchaseOrder(number="PO-X", status=src)
    if (src, dst) in LEGAL:
        set_status(po, dst, now=T0)
        assert po.status == dst
        if dst == "approved":
            assert po.approved_at == T0
        if dst == "sent":
            assert po.sent_at == T0
    else:
        with pytest.raises(IllegalTransition) as exc:
            set_status(po, dst, now=T0)
        assert po.status == src and po.approved_at is None and po.sent_at is None
        assert f"purchase order PO-X is {src}: it can move to" in str(exc.value)
        assert f"not {dst}" in str(exc.value)


def test_final_states_say_nothing_is_allowed():
    with pytest.raises(IllegalTransition, match="is received: it can move to nothing"):
        set_status(PurchaseOrder(number="PO-R", status="received"), "sent")


# --- a small hand-made shop ----------------------------------------------------------------

@pytest.fixture
def shop(sessions):
    s = sessions()
    shop = Shop(name="lifecycle", currency="EUR", settings={})
    s.add(shop)
    s.flush()
    wh = Location(shop_id=shop.id, external_id="wh", name="Warehouse")
    st = Location(shop_id=shop.id, external_id="st", name="Store", kind="store")
    leaf = Supplier(shop_id=shop.id, external_id="leaf", name="Leaf", email="leaf@example.test",
                    delivery={"auto_approve_below": 100})
    kw = Supplier(shop_id=shop.id, external_id="kw", name="Kettle Works", delivery={})
    s.add_all([wh, st, leaf, kw])
    s.flush()
    variants = {sku: Variant(shop_id=shop.id, external_id=f"v-{sku}", sku=sku, unit_cost=cost)
                for sku, cost in (("TEA", 2.0), ("MUG", 4.0), ("KETTLE", 18.0))}
    s.add_all(variants.values())
    s.flush()
    s.add_all([SupplierItem(shop_id=shop.id, supplier_id=leaf.id, variant_id=variants["TEA"].id,
                            unit_cost=2.5, lead_time_days=10, lead_time_std_days=1.0),
               SupplierItem(shop_id=shop.id, supplier_id=leaf.id, variant_id=variants["MUG"].id,
                            unit_cost=4.0, lead_time_days=21),
               SupplierItem(shop_id=shop.id, supplier_id=kw.id, variant_id=variants["TEA"].id,
                            unit_cost=2.25, lead_time_days=5, is_primary=False),
               SupplierItem(shop_id=shop.id, supplier_id=kw.id,
                            variant_id=variants["KETTLE"].id, unit_cost=18.5,
                            lead_time_days=14)])
    s.flush()
    yield {"s": s, "shop": shop, "wh": wh, "st": st, "leaf": leaf, "kw": kw, "v": variants}
    s.rollback()
    s.close()


def make_po(w, number, status="draft", supplier="leaf", location="wh", lines=(("TEA", 10),)):
    s = w["s"]
    po = PurchaseOrder(shop_id=w["shop"].id, number=number, supplier_id=w[supplier].id,
                       location_id=w[location].id, status=status, idempotency_key=f"k-{number}")
    s.add(po)
    s.flush()
    costs = {"TEA": 2.5, "MUG": 4.0, "KETTLE": 18.5}
    s.add_all([PurchaseOrderLine(purchase_order_id=po.id, variant_id=w["v"][sku].id, sku=sku,
                                 quantity=q, unit_cost=costs[sku]) for sku, q in lines])
    s.flush()
    return po


def qtys(po):
    return {line.sku: line.quantity for line in order_lines(po)}


# --- draft edits ---------------------------------------------------------------------------

def test_edit_add_and_remove_lines(shop):
    po = make_po(shop, "PO-1", lines=(("TEA", 10), ("MUG", 6)))
    edit_line(po, "TEA", 24)
    assert qtys(po) == {"TEA": 24, "MUG": 6}
    assert edit_line(po, "MUG", 0) is None
    assert qtys(po) == {"TEA": 24}
    line = add_line(po, "MUG", 12)
    assert (line.quantity, line.unit_cost) == (12, 4.0)  # the supplier's cost
    add_line(po, "MUG", 3)
    assert qtys(po) == {"TEA": 24, "MUG": 15}
    kettle = add_line(po, "KETTLE", 1)
    assert kettle.unit_cost == 18.0  # Leaf has no item for it: the variant's cost
    assert order_value(po) == round(24 * 2.5 + 15 * 4.0 + 18.0, 2)
    with pytest.raises(PurchasingError, match="has no line for SKU 'NOPE'"):
        edit_line(po, "NOPE", 3)
    with pytest.raises(PurchasingError, match="must be a whole number of 0 or more"):
        edit_line(po, "TEA", -1)
    with pytest.raises(PurchasingError, match="unknown SKU 'NOPE'"):
        add_line(po, "NOPE", 1)
    with pytest.raises(PurchasingError, match="above 0"):
        add_line(po, "TEA", 0)
    set_status(po, "approved")
    with pytest.raises(PurchasingError, match="it is approved, and only drafts can be edited"):
        edit_line(po, "TEA", 1)
    assert qtys(po)["TEA"] == 24


def test_move_line_to_another_supplier(shop):
    po = make_po(shop, "PO-00007-001", lines=(("TEA", 10), ("KETTLE", 2)))
    po.plan_run_id = None
    target = move_line(po, "TEA", shop["kw"])
    assert target.supplier_id == shop["kw"].id and target.status == "draft"
    assert target.location_id == shop["wh"].id and target.number == "PO-M-001"
    assert qtys(target) == {"TEA": 10} and qtys(po) == {"KETTLE": 2}
    assert order_lines(target)[0].unit_cost == 2.25  # Kettle Works' price
    again = make_po(shop, "PO-2", lines=(("TEA", 5),))
    assert move_line(again, "TEA", shop["kw"].id).id == target.id  # joins that draft
    assert qtys(target) == {"TEA": 15}
    assert shop["s"].get(PurchaseOrder, again.id) is None  # emptied draft is gone
    with pytest.raises(PurchasingError, match="already ordered from Kettle Works"):
        move_line(target, "TEA", shop["kw"])


def test_merge_drafts_of_same_supplier_and_location(shop):
    a = make_po(shop, "PO-A", lines=(("TEA", 10),))
    b = make_po(shop, "PO-B", lines=(("TEA", 5), ("MUG", 12)))
    c = make_po(shop, "PO-C", location="st", lines=(("TEA", 1),))
    d = make_po(shop, "PO-D", status="approved", lines=(("TEA", 7),))
    merged = merge_drafts(shop["s"], shop["shop"])
    assert [m.id for m in merged] == [a.id]
    assert qtys(a) == {"TEA": 15, "MUG": 12}
    assert shop["s"].get(PurchaseOrder, b.id) is None
    assert qtys(c) == {"TEA": 1} and qtys(d) == {"TEA": 7}
    assert merge_drafts(shop["s"], shop["shop"]) == []


def test_auto_approve_below_supplier_value(shop):
    s, w = shop["s"], shop
    run = PlanRun(shop_id=w["shop"].id, data_cutoff=date(2025, 3, 1), status="done")
    s.add(run)
    s.flush()

    def line(sku, supplier, qty, cost, loc="wh"):
        return PlanLine(plan_run_id=run.id, shop_id=w["shop"].id, variant_id=w["v"][sku].id,
                        location_id=w[loc].id, sku=sku, list="staple", status="ok",
                        service_level=0.95, review_days=7, recommended_qty=qty,
                        supplier_id=w[supplier].id, unit_cost=cost, lead_time_days=10)

    s.add_all([line("TEA", "leaf", 39, 2.5),  # 97.50 < 100: approved
               line("TEA", "leaf", 40, 2.5, loc="st"),  # 100.00 is not under 100: draft
               line("KETTLE", "kw", 1, 18.5)])  # no rule for Kettle Works: draft
    s.flush()
    orders = {(o.supplier_id, o.location_id): o
              for o in draft_purchase_orders(s, w["shop"], run)}
    assert orders[(w["leaf"].id, w["wh"].id)].status == "approved"
    assert orders[(w["leaf"].id, w["wh"].id)].approved_at is not None
    assert orders[(w["leaf"].id, w["st"].id)].status == "draft"
    assert orders[(w["kw"].id, w["wh"].id)].status == "draft"
    unknown = make_po(w, "PO-NOCOST", lines=(("TEA", 1),))
    order_lines(unknown)[0].unit_cost = None
    assert order_value(unknown) is None and auto_approve(s, [unknown]) == []


# --- receipts ------------------------------------------------------------------------------

def sent_po(w, number, lines=(("TEA", 10), ("MUG", 6)), at=T0):
    po = make_po(w, number, status="approved", lines=lines)
    mark_sent(w["s"], po, at)
    return po


def n_receipts(s):
    return s.scalar(select(func.count(Receipt.id)))


def test_receive_partially_then_fully_and_idempotently(shop):
    s = shop["s"]
    po = sent_po(shop, "PO-R1")
    assert po.sent_at == T0 and po.expected_at == date(2025, 3, 3) + timedelta(days=21)
    rows = receive(s, po, {"TEA": 4}, source="wms", external_id="rcv-1",
                   received_at=T0 + timedelta(days=9))
    assert [(r.external_id, r.quantity) for r in rows] == [("rcv-1:TEA", 4)]
    assert po.status == "partially_received" and qtys_received(po) == {"TEA": 4, "MUG": 0}
    again = receive(s, po, {"TEA": 4}, source="wms", external_id="rcv-1")
    assert [r.id for r in again] == [r.id for r in rows] and qtys_received(po)["TEA"] == 4
    with pytest.raises(ReceivingError, match="already recorded with other lines"):
        receive(s, po, {"TEA": 5}, source="wms", external_id="rcv-1")
    receive(s, po, {"TEA": 6, "MUG": 6}, source="wms", external_id="rcv-2",
            received_at=T0 + timedelta(days=12))
    assert po.status == "received" and qtys_received(po) == {"TEA": 10, "MUG": 6}
    assert n_receipts(s) == 3
    assert receive(s, po, {"TEA": 6, "MUG": 6}, source="wms", external_id="rcv-2")  # replay
    with pytest.raises(ReceivingError, match="is received .every line is already fully"):
        receive(s, po, {"TEA": 1}, source="wms", external_id="rcv-3")


def qtys_received(po):
    return {line.sku: line.received_quantity for line in order_lines(po)}


def test_refused_receipts_write_nothing(shop):
    s = shop["s"]
    po = sent_po(shop, "PO-R2")
    with pytest.raises(ReceivingError, match=r"SKU 'KETTLE' is not on purchase order PO-R2 "
                                             r"\(its SKUs: MUG, TEA\)"):
        receive(s, po, {"TEA": 2, "KETTLE": 1}, external_id="x1")
    with pytest.raises(ReceivingError, match="over-receipt of SKU 'TEA' on purchase order "
                                             "PO-R2: 11 received but 10 ordered"):
        receive(s, po, {"TEA": 11}, external_id="x2")
    with pytest.raises(ReceivingError, match="must be a whole number above 0"):
        receive(s, po, {"TEA": 0}, external_id="x3")
    assert n_receipts(s) == 0 and po.status == "sent" and qtys_received(po)["TEA"] == 0
    receive(s, po, {"TEA": 8}, external_id="x4")
    with pytest.raises(ReceivingError, match="3 received but 10 ordered, 8 already received"):
        receive(s, po, {"TEA": 3}, external_id="x5")
    receive(s, po, {"TEA": 3}, external_id="x6", tolerance=0.1)  # floor(10 * 1.1) = 11
    assert qtys_received(po)["TEA"] == 11
    shop["shop"].settings = {"over_receipt_tolerance": 0.5}  # shop-wide: up to 9 of 6
    receive(s, po, {"MUG": 9}, external_id="x7")
    assert po.status == "received"
    for status, hint in (("draft", "approve and send it first"),
                         ("approved", "it has not been sent yet"),
                         ("cancelled", "a cancelled order takes no receipts")):
        other = make_po(shop, f"PO-{status}", status=status)
        with pytest.raises(ReceivingError, match=f"PO-{status}: it is {status} .{hint}"):
            receive(s, other, {"TEA": 1}, external_id=f"y-{status}")
    assert n_receipts(s) == 3


# --- lead times ----------------------------------------------------------------------------

def test_mean_std_by_hand():
    assert mean_std([12.0, 15.0, 18.0]) == (15.0, 3.0)  # sqrt((9 + 0 + 9) / 2)
    m, sd = mean_std([4.0, 6.0, 11.0])  # mean 7; sqrt((9 + 1 + 16) / 2) = sqrt(13)
    assert m == 7.0 and sd == pytest.approx(math.sqrt(13))
    assert mean_std([5.0]) == (5.0, 0.0)


def test_lead_times_learned_from_first_receipts(shop):
    s, w = shop["s"], shop
    item = s.scalar(select(SupplierItem).where(SupplierItem.supplier_id == w["leaf"].id,
                                               SupplierItem.variant_id == w["v"]["TEA"].id))
    days = [12, 15, 18]  # first receipt of each order, days after sending
    for n, d in enumerate(days):
        sent = T0 + timedelta(days=30 * n, hours=n)
        po = sent_po(w, f"PO-L{n}", lines=(("TEA", 10),), at=sent)
        receive(s, po, {"TEA": 4}, external_id=f"l{n}a", received_at=sent + timedelta(days=d))
        receive(s, po, {"TEA": 6}, external_id=f"l{n}b",  # later receipts do not count
                received_at=sent + timedelta(days=d + 40))
        if n < 2:  # fewer than 3 receipts: the configured values stay
            assert (item.lead_time_days, item.lead_time_std_days) == (10, 1.0)
    assert (item.lead_time_days, item.lead_time_std_days) == (15.0, 3.0)
    assert configured_lead_time(w["leaf"], w["v"]["TEA"].id) == (10.0, 1.0)
    learned = w["leaf"].delivery["lead_times"][str(w["v"]["TEA"].id)]["learned"]
    assert learned["receipts"] == 3 and w["leaf"].delivery["auto_approve_below"] == 100
    inputs = read_inputs(s, w["shop"], date(2025, 6, 1))  # the plan reads the learned values
    tea = inputs.supply.loc[w["v"]["TEA"].id]
    assert (tea["lead_time_days"], tea["lead_time_std_days"]) == (15.0, 3.0)
    po = sent_po(w, "PO-NEXT", lines=(("TEA", 10),), at=datetime(2025, 7, 1, 8, tzinfo=timezone.utc))
    assert po.expected_at == date(2025, 7, 16)  # sent date + ceil(15)
    item.lead_time_days = 20.0  # somebody re-imports the supplier list
    stats = learn_lead_times(s, w["shop"].id)
    assert [st.n for st in stats if st.variant_id == w["v"]["TEA"].id] == [3]
    assert item.lead_time_days == 15.0
    assert configured_lead_time(w["leaf"], w["v"]["TEA"].id) == (20.0, 3.0)


def test_lead_time_fractional_days_and_min_receipts(shop):
    s, w = shop["s"], shop
    for n, hours in enumerate([4 * 24, 6 * 24, 11 * 24 + 12]):  # 4, 6 and 11.5 days
        sent = T0 + timedelta(days=n)
        po = sent_po(w, f"PO-F{n}", lines=(("MUG", 6),), at=sent)
        receive(s, po, {"MUG": 6}, external_id=f"f{n}", received_at=sent + timedelta(hours=hours),
                min_receipts=5)
    item = s.scalar(select(SupplierItem).where(SupplierItem.supplier_id == w["leaf"].id,
                                               SupplierItem.variant_id == w["v"]["MUG"].id))
    assert item.lead_time_days == 21  # only 3 of the 5 receipts asked for
    learn_lead_times(s, w["shop"].id, min_receipts=3)
    mean = (4 + 6 + 11.5) / 3  # 7.1667
    std = math.sqrt(((4 - mean) ** 2 + (6 - mean) ** 2 + (11.5 - mean) ** 2) / 2)  # 3.8837
    assert item.lead_time_days == pytest.approx(mean, abs=1e-4)
    assert item.lead_time_std_days == pytest.approx(std, abs=1e-4)
