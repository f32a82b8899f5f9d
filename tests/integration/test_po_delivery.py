"""Purchase-order delivery end to end: a real SMTP server (aiosmtpd) and HTTP receivers on
loopback, exactly-once under failures and crashes, 1,000 orders to a flaky endpoint, the
``restock po`` commands and the purchase-orders page buttons."""
from __future__ import annotations

import argparse
import csv
import email
import email.policy
import json
import random
import socket
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from connector.delivery import (INTERRUPTED, DeliverySettings, register_channel, send_approved,
                                unregister_channel, verify)
from connector.delivery import sender as sender_mod
from core.storage import (Location, PODelivery, PurchaseOrder, PurchaseOrderLine, Shop,
                          Supplier, SupplierItem, Variant, make_engine, make_sessionmaker,
                          upgrade)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

NOW = datetime(2025, 4, 1, 8, 0, tzinfo=timezone.utc)
SECRET = "s3cret-for-acme"


# --- receivers -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps every message; refuses recipients at @refused.test (550)."""

    def __init__(self):
        self.messages, self.refused = [], 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.test"):
            self.refused += 1
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    inbox = Inbox()

    def auth(server, session, envelope, mechanism, data):
        return AuthResult(success=(data.login, data.password) == (b"shop", b"p@ss"))

    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=auth,
                     auth_required=True, auth_require_tls=False)
    ctl.start()
    yield inbox, f"smtp://shop:p%40ss@127.0.0.1:{port}"
    ctl.stop()


class Receiver:
    """An HTTP supplier endpoint that checks signatures and honours Idempotency-Key. Flaky
    on request (deterministic with ``seed``): ``fail`` of requests answer 503 unprocessed;
    ``hang`` are processed but answered after ``hang_s`` seconds, too late for the client
    (a timeout); ``drop`` are processed, then the connection is closed with no answer."""

    def __init__(self, secret=SECRET, fail=0.0, hang=0.0, drop=0.0, seed=0, hang_s=0.6):
        self.secret, self.fail, self.hang, self.drop, self.hang_s = secret, fail, hang, drop, \
            hang_s
        self.rng, self.lock = random.Random(seed), threading.Lock()
        self.requests, self.processed, self.per_key = 0, Counter(), Counter()
        self.bodies, self.n_503, self.n_hang, self.n_drop, self.replays = {}, 0, 0, 0, 0
        self.bad_signatures = 0

    def handle(self, body: bytes, headers) -> tuple[int, dict, float]:
        with self.lock:
            self.requests += 1
            key = headers.get("Idempotency-Key")
            if not verify(self.secret, body, headers.get("X-Restock-Signature")):
                self.bad_signatures += 1
                return 401, {"error": "bad signature"}, 0.0
            payload = json.loads(body)
            assert payload["idempotency_key"] == key
            self.per_key[key] += 1
            r = self.rng.random()
            if r < self.fail:
                self.n_503 += 1
                return 503, {"error": "busy"}, 0.0
            if key in self.bodies:
                self.replays += 1  # recognised by its key: the order is not processed again
            else:
                self.bodies[key] = payload
                self.processed[key] += 1
            if r < self.fail + self.hang:
                self.n_hang += 1
                return 200, {"id": f"so-{key[:8]}"}, self.hang_s
            if r < self.fail + self.hang + self.drop:
                self.n_drop += 1
                return 0, {}, 0.0
            return 200, {"id": f"so-{key[:8]}"}, 0.0


@pytest.fixture
def http_receiver():
    servers = []

    def start(receiver: Receiver) -> str:
        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls per request

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, reply, delay = receiver.handle(body, self.headers)
                if status == 0:  # processed, then the connection drops with no answer
                    self.close_connection = True
                    return
                time.sleep(delay)
                data = json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a simulated timeout)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/orders"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --- a shop with suppliers -----------------------------------------------------------------

@pytest.fixture
def sqlite_sessions(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path}/delivery.db")
    upgrade(eng)
    yield make_sessionmaker(eng)
    eng.dispose()


def build_shop(sessions, delivery: dict, email_addr="orders@acme.test", name="Delivery Shop"):
    """A shop, a warehouse, supplier ACME (with ``delivery``) and two items."""
    with sessions() as s:
        shop = Shop(name=name, currency="EUR", settings={})
        s.add(shop)
        s.flush()
        s.add(Location(shop_id=shop.id, external_id="wh", name="Main warehouse"))
        s.add(Supplier(shop_id=shop.id, external_id="acme", name="ACME", email=email_addr,
                       delivery=delivery))
        s.flush()
        sup = s.scalar(select(Supplier).where(Supplier.shop_id == shop.id))
        for sku, cost, lead, ssku in (("TEA", 2.5, 10, "A-100"), ("MUG", 4.0, 12.5, "A-200")):
            v = Variant(shop_id=shop.id, external_id=f"v-{sku}", sku=sku, title=f"{sku} item")
            s.add(v)
            s.flush()
            s.add(SupplierItem(shop_id=shop.id, supplier_id=sup.id, variant_id=v.id,
                               supplier_sku=ssku, unit_cost=cost, lead_time_days=lead))
        s.commit()
        return shop.id


def add_orders(sessions, shop_id: int, n: int, status="approved", first=1) -> list[int]:
    with sessions() as s:
        sup = s.scalar(select(Supplier).where(Supplier.shop_id == shop_id))
        wh = s.scalar(select(Location).where(Location.shop_id == shop_id))
        variants = {v.sku: v for v in s.scalars(select(Variant).where(Variant.shop_id == shop_id))}
        orders = [PurchaseOrder(shop_id=shop_id, number=f"PO-T-{i:04d}", supplier_id=sup.id,
                                location_id=wh.id, status=status,
                                idempotency_key=f"{shop_id}-key-{i:04d}")
                  for i in range(first, first + n)]
        s.add_all(orders)
        s.flush()
        s.add_all([PurchaseOrderLine(purchase_order_id=po.id, variant_id=variants[sku].id,
                                     sku=sku, quantity=q, unit_cost=c)
                   for po in orders for sku, q, c in (("TEA", 24, 2.5), ("MUG", 6, 4.0))])
        s.commit()
        return [po.id for po in orders]


def settings(smtp_url=None, **kw) -> DeliverySettings:
    env = {"ACME_SECRET": SECRET}
    return DeliverySettings(smtp_url=smtp_url, smtp_from="buyer@shop.test", timeout=5,
                            backoff_base=1.0, backoff_cap=8.0, lease=60.0, environ=env, **kw)


def state(sessions, po_id):
    with sessions() as s:
        po = s.get(PurchaseOrder, po_id)
        d = s.scalars(select(PODelivery).where(PODelivery.purchase_order_id == po_id)).all()
        return po, d


# --- email ---------------------------------------------------------------------------------

def test_email_with_csv_and_pdf_reaches_the_smtp_server(sessions, smtp):
    inbox, url = smtp
    shop_id = build_shop(sessions, {"method": "email", "cc": "boss@acme.test"})
    (po_id,) = add_orders(sessions, shop_id, 1)
    report = send_approved(sessions, shop_id, now=NOW, settings=settings(url))
    assert [o.result for o in report.outcomes] == ["sent"]
    (msg,) = inbox.messages
    assert msg["Subject"] == "Purchase order PO-T-0001 from Delivery Shop"
    assert msg["To"] == "orders@acme.test" and msg["Cc"] == "boss@acme.test"
    assert msg["From"] == "buyer@shop.test"
    assert msg["Message-ID"] == f"<po.{shop_id}-key-0001.PO-T-0001@shop.test>"
    files = {part.get_filename(): part for part in msg.iter_attachments()}
    assert set(files) == {"PO-T-0001.csv", "PO-T-0001.pdf"}
    rows = list(csv.DictReader(files["PO-T-0001.csv"].get_content().splitlines()))
    assert [(r["sku"], r["supplier_sku"], r["quantity"], r["unit_cost"], r["line_value"])
            for r in rows] == [("MUG", "A-200", "6", "4.00", "24.00"),
                               ("TEA", "A-100", "24", "2.50", "60.00")]
    assert {r["expected_date"] for r in rows} == {"2025-04-14"}  # 1 April + ceil(12.5)
    pdf = files["PO-T-0001.pdf"].get_content()
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"PURCHASE ORDER PO-T-0001" in pdf
    po, (d,) = state(sessions, po_id)
    assert po.status == "sent" and po.expected_at == date(2025, 4, 14) and po.last_error is None
    assert (d.channel, d.status, d.attempts, d.remote_ref) == ("email", "sent", 1,
                                                               msg["Message-ID"])
    assert send_approved(sessions, shop_id, now=NOW, settings=settings(url)).outcomes == []
    assert len(inbox.messages) == 1


def test_refused_email_keeps_the_order_approved_with_the_error(sessions, smtp):
    inbox, url = smtp
    shop_id = build_shop(sessions, {"method": "email"}, email_addr="nobody@refused.test")
    (po_id,) = add_orders(sessions, shop_id, 1)
    (o,) = send_approved(sessions, shop_id, now=NOW, settings=settings(url)).outcomes
    assert o.result == "held" and "SMTP 550" in o.error
    po, (d,) = state(sessions, po_id)
    assert po.status == "approved" and po.sent_at is None
    assert po.last_error.startswith("email: SMTP 550 refused recipient nobody@refused.test")
    assert d.status == "failed" and d.next_attempt_at is None and d.attempts == 1
    later = NOW + timedelta(days=1)  # a permanent refusal is not retried on its own
    assert send_approved(sessions, shop_id, now=later, settings=settings(url)).outcomes == []
    (o,) = send_approved(sessions, shop_id, po_ids=[po_id], now=later,
                         settings=settings(url)).outcomes  # a person presses Send
    assert o.result == "held" and o.attempts == 2 and inbox.refused == 2
    assert inbox.messages == []


def test_unreachable_server_is_retried_with_backoff(sessions, smtp):
    inbox, url = smtp
    shop_id = build_shop(sessions, {"method": "email"})
    (po_id,) = add_orders(sessions, shop_id, 1)
    down = settings(f"smtp://127.0.0.1:{free_port()}")
    for attempt, wait in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 8)):  # min(8, 2 ** (k - 1))
        t = NOW + timedelta(seconds=100 * attempt)
        (o,) = send_approved(sessions, shop_id, now=t, settings=down).outcomes
        assert (o.result, o.attempts) == ("failed", attempt)
        po, (d,) = state(sessions, po_id)
        assert d.next_attempt_at.replace(tzinfo=timezone.utc) == t + timedelta(seconds=wait)
        assert send_approved(sessions, shop_id, now=t + timedelta(seconds=wait - 0.5),
                             settings=down).outcomes == []  # not due yet
    assert po.status == "approved" and "failed: ConnectionRefusedError" in po.last_error
    (o,) = send_approved(sessions, shop_id, now=NOW + timedelta(hours=1),
                         settings=settings(url)).outcomes
    assert (o.result, o.attempts) == ("sent", 6) and len(inbox.messages) == 1


# --- HTTP ----------------------------------------------------------------------------------

def test_http_delivery_is_signed_and_keyed(sessions, http_receiver):
    rx = Receiver()
    url = http_receiver(rx)
    shop_id = build_shop(sessions, {"method": "http", "url": url, "secret_env": "ACME_SECRET"})
    (po_id,) = add_orders(sessions, shop_id, 1)
    (o,) = send_approved(sessions, shop_id, now=NOW, settings=settings()).outcomes
    assert o.result == "sent" and rx.bad_signatures == 0 and rx.requests == 1
    body = rx.bodies[f"{shop_id}-key-0001"]
    assert body["order_number"] == "PO-T-0001" and body["expected_date"] == "2025-04-14"
    assert [(x["sku"], x["supplier_sku"], x["quantity"]) for x in body["lines"]] == [
        ("MUG", "A-200", 6), ("TEA", "A-100", 24)]
    assert body["supplier"] == {"id": "acme", "name": "ACME"} and body["total_value"] == 84.0
    po, (d,) = state(sessions, po_id)
    assert po.status == "sent" and d.remote_ref == "so-" + f"{shop_id}-key-0001"[:8]
    wrong = build_shop(sessions, {"method": "http", "url": url, "secret": "wrong"}, name="B")
    (bad,) = add_orders(sessions, wrong, 1, first=2)
    (o,) = send_approved(sessions, wrong, now=NOW, settings=settings()).outcomes
    assert o.result == "held" and "answered 401" in o.error and rx.bad_signatures == 1
    assert state(sessions, bad)[0].status == "approved"


@pytest.mark.slow
def test_thousand_orders_to_a_flaky_endpoint_each_delivered_once(sqlite_sessions,
                                                                http_receiver, capsys):
    rx = Receiver(fail=0.30, hang=0.015, drop=0.02, seed=20250401, hang_s=0.5)
    url = http_receiver(rx)
    shop_id = build_shop(sqlite_sessions, {"method": "http", "url": url, "timeout": 0.25,
                                           "secret_env": "ACME_SECRET"})
    ids = add_orders(sqlite_sessions, shop_id, 1000)
    t0, clock, rounds, results = time.perf_counter(), NOW, 0, Counter()
    while rounds < 40:
        report = send_approved(sqlite_sessions, shop_id, now=clock, settings=settings())
        results.update(o.result for o in report.outcomes)
        rounds += 1
        with sqlite_sessions() as s:
            left = s.scalar(select(PurchaseOrder.id).where(PurchaseOrder.status == "approved")
                            .limit(1))
        if left is None:
            break
        clock += timedelta(seconds=9)  # past the longest backoff (8 s)
    took = time.perf_counter() - t0
    with sqlite_sessions() as s:
        deliveries = s.scalars(select(PODelivery)).all()
        statuses = Counter(po.status for po in s.scalars(select(PurchaseOrder)))
        keys = dict(s.execute(select(PurchaseOrder.id, PurchaseOrder.idempotency_key)).all())
    attempts = sum(d.attempts for d in deliveries)
    figures = dict(orders=len(ids), send_rounds=rounds, attempts=attempts,
                   retries=attempts - len(ids), http_requests=rx.requests,
                   answered_503=rx.n_503, timeouts=rx.n_hang, dropped_after_processing=rx.n_drop,
                   distinct_keys=len(rx.bodies), replays_recognised_by_key=rx.replays,
                   processed_twice=sum(1 for n in rx.processed.values() if n > 1),
                   seconds=round(took, 1))
    with capsys.disabled():
        print("\n1,000 purchase orders to a flaky endpoint:", json.dumps(figures))
    assert statuses == {"sent": 1000} and rounds < 40 and results["sent"] == 1000
    assert len(deliveries) == 1000 and all(d.status == "sent" for d in deliveries)
    assert len(rx.bodies) == 1000 and figures["processed_twice"] == 0
    # every attempt the sender counted reached the receiver, and none came after success
    assert {keys[d.purchase_order_id]: d.attempts for d in deliveries} == dict(rx.per_key)
    assert rx.requests == attempts
    # only orders whose answer was lost came back, and the key made them no-ops
    assert rx.replays >= rx.n_hang + rx.n_drop > 20 and rx.n_503 > 250
    assert took < 120  # about 25 s on an idle 2-core machine


# --- crashes between the remote send and the database commit ------------------------------

def crash_once(monkeypatch):
    real = sender_mod._finish
    calls = {"n": 0}

    def finish(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt("simulated crash after the supplier got the order")
        return real(*args, **kw)

    monkeypatch.setattr(sender_mod, "_finish", finish)


def test_crash_after_http_send_is_resent_with_the_same_key(sessions, http_receiver,
                                                            monkeypatch):
    rx = Receiver()
    shop_id = build_shop(sessions, {"method": "http", "url": http_receiver(rx),
                                    "secret_env": "ACME_SECRET"})
    (po_id,) = add_orders(sessions, shop_id, 1)
    crash_once(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        send_approved(sessions, shop_id, now=NOW, settings=settings())
    po, (d,) = state(sessions, po_id)
    assert (po.status, d.status, rx.requests) == ("approved", "sending", 1)
    (o,) = send_approved(sessions, shop_id, po_ids=[po_id], now=NOW + timedelta(seconds=30),
                         settings=settings()).outcomes
    assert o.result == "skipped" and "right now" in o.error  # the lease has not run out
    (o,) = send_approved(sessions, shop_id, now=NOW + timedelta(seconds=61),
                         settings=settings()).outcomes
    assert (o.result, o.attempts) == ("sent", 2)
    assert rx.requests == 2 and rx.replays == 1 and len(rx.processed) == 1


def test_crash_after_email_send_never_emails_twice_on_its_own(sessions, smtp, monkeypatch):
    inbox, url = smtp
    shop_id = build_shop(sessions, {"method": "email"})
    (po_id,) = add_orders(sessions, shop_id, 1)
    crash_once(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        send_approved(sessions, shop_id, now=NOW, settings=settings(url))
    assert len(inbox.messages) == 1
    later = NOW + timedelta(seconds=61)
    (o,) = send_approved(sessions, shop_id, now=later, settings=settings(url)).outcomes
    assert o.result == "unknown" and o.error == INTERRUPTED
    po, (d,) = state(sessions, po_id)
    assert po.status == "approved" and d.status == "unknown" and INTERRUPTED in po.last_error
    assert send_approved(sessions, shop_id, now=later, settings=settings(url)).outcomes == []
    (o,) = send_approved(sessions, shop_id, po_ids=[po_id], now=later,
                         settings=settings(url)).outcomes
    assert o.result == "unknown" and len(inbox.messages) == 1
    (o,) = send_approved(sessions, shop_id, po_ids=[po_id], now=later, settings=settings(url),
                         force=True).outcomes  # a person checked and sends it again
    assert o.result == "sent" and len(inbox.messages) == 2
    assert inbox.messages[0]["Message-ID"] == inbox.messages[1]["Message-ID"]


def test_unregistered_channel_fails_until_an_adapter_registers(sessions):
    shop_id = build_shop(sessions, {"method": "acme_erp", "company": 1})
    (po_id,) = add_orders(sessions, shop_id, 1)
    (o,) = send_approved(sessions, shop_id, now=NOW, settings=settings()).outcomes
    assert o.result == "failed" and "delivery channel 'acme_erp' is not configured" in o.error
    assert state(sessions, po_id)[0].last_error.startswith("acme_erp: delivery channel")
    calls = []
    register_channel("acme_erp", lambda call: calls.append(call) or "purchase/42",
                     idempotent=True)
    try:
        (o,) = send_approved(sessions, shop_id, now=NOW + timedelta(seconds=2),
                             settings=settings()).outcomes
    finally:
        unregister_channel("acme_erp")
    assert o.result == "sent" and calls[0].config["company"] == 1
    assert calls[0].order.idempotency_key == f"{shop_id}-key-0001" and calls[0].attempt == 2
    po, (d,) = state(sessions, po_id)
    assert po.status == "sent" and d.remote_ref == "purchase/42"


# --- the restock po command ----------------------------------------------------------------

def po_cli(argv: list[str]) -> int:
    """``connector.cli.main`` once ``po`` is wired into it; until then, a fresh parser."""
    from connector import cli
    from connector.cli_po import register

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "po" in sub.choices:
        return cli.main(argv)
    parser = argparse.ArgumentParser(prog="restock")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_list_approve_send_receive(tmp_path, monkeypatch, capsys, http_receiver):
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ACME_SECRET", SECRET)
    eng = make_engine(url)
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    rx = Receiver()
    shop_id = build_shop(sessions, {"method": "http", "url": http_receiver(rx),
                                    "secret_env": "ACME_SECRET"})
    ids = add_orders(sessions, shop_id, 3, status="draft")
    assert po_cli(["po", "list"]) == 0
    out = capsys.readouterr().out
    assert "PO-T-0001" in out and "draft" in out and "3 purchase orders" in out
    assert po_cli(["po", "approve", "PO-T-0001", str(ids[1])]) == 0
    assert capsys.readouterr().out.splitlines() == ["PO-T-0001 approved", "PO-T-0002 approved"]
    assert po_cli(["po", "approve", "PO-T-0001"]) == 2
    assert "PO-T-0001 is approved: it can move to cancelled, sent, not approved" in \
        capsys.readouterr().err
    assert po_cli(["po", "approve", "PO-NOPE"]) == 2
    assert "has no purchase order 'PO-NOPE'" in capsys.readouterr().err
    assert po_cli(["po", "send", "PO-T-0003"]) == 2
    assert "PO-T-0003 is draft: only approved orders can be sent (approve it first)" in \
        capsys.readouterr().err
    assert po_cli(["po", "send", "--all"]) == 0
    assert capsys.readouterr().out.splitlines() == ["PO-T-0001 sent by http",
                                                    "PO-T-0002 sent by http"]
    assert rx.requests == 2
    assert po_cli(["po", "receive", "PO-T-0001", "--sku", "TEA", "--qty", "20",
                   "--ref", "grn-1", "--received-at", "2025-04-12"]) == 0
    assert "PO-T-0001: received 20 x TEA; now partially_received" in capsys.readouterr().out
    assert po_cli(["po", "receive", "PO-T-0001", "--sku", "TEA", "--qty", "5"]) == 2
    assert "over-receipt of SKU 'TEA'" in capsys.readouterr().err
    receipts = tmp_path / "receipts.csv"
    receipts.write_text("po_number,sku,quantity,received_at\nPO-T-0001,TEA,4,2025-04-15\n"
                        "PO-T-0001,MUG,6,2025-04-15T10:30\nPO-T-0002,TEA,24,\n")
    for _ in range(2):  # importing the same file twice records it once
        assert po_cli(["po", "receive", "--file", str(receipts)]) == 0
        assert "recorded 3 receipt rows" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("po_number,sku,quantity\nPO-T-0002,MUG,1\nPO-T-0002,KETTLE,1\n")
    assert po_cli(["po", "receive", "--file", str(bad)]) == 2
    assert "bad.csv, line 3: SKU 'KETTLE' is not on purchase order PO-T-0002" in \
        capsys.readouterr().err
    with sessions() as s:
        got = {(po.number, po.status): {ln.sku: ln.received_quantity for ln in s.scalars(
            select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == po.id))}
            for po in s.scalars(select(PurchaseOrder).order_by(PurchaseOrder.number))}
    assert got == {("PO-T-0001", "received"): {"TEA": 24, "MUG": 6},
                   ("PO-T-0002", "partially_received"): {"TEA": 24, "MUG": 0},
                   ("PO-T-0003", "draft"): {"TEA": 0, "MUG": 0}}
    eng.dispose()


# --- the purchase-orders page --------------------------------------------------------------

def test_page_edits_drafts_sends_and_cancels(tmp_path, smtp):
    import re

    from connector.app import create_app
    from connector.config import Settings
    from connector.context import build_context

    inbox, smtp_url = smtp
    ctx = build_context(Settings(database_url=f"sqlite:///{tmp_path}/web.db", env="test"))
    shop_id = build_shop(ctx.sessions, {"method": "email"}, email_addr="x@refused.test")
    draft, approved = add_orders(ctx.sessions, shop_id, 2, status="draft")
    with ctx.sessions() as s:
        s.get(PurchaseOrder, approved).status = "approved"
        s.commit()
    app = create_app({"TESTING": True, "RESTOCK_DELIVERY": settings(smtp_url)}, context=ctx)
    c = app.test_client()
    html = c.get("/purchase-orders").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert html.count(">Send</button>") == 1 and html.count(">Cancel</button>") == 2
    assert c.post(f"/purchase-orders/{draft}/lines",
                  data={"sku": "TEA", "quantity": "30"}).status_code == 400  # no token
    page = c.post(f"/purchase-orders/{draft}/lines", data={"csrf_token": token, "sku": "TEA",
                  "quantity": "30"}, follow_redirects=True).get_data(as_text=True)
    assert "PO-T-0001: TEA set to 30." in page
    page = c.post(f"/purchase-orders/{draft}/lines", data={"csrf_token": token, "sku": "MUG",
                  "quantity": "0"}, follow_redirects=True).get_data(as_text=True)
    assert "PO-T-0001: MUG removed." in page
    page = c.post(f"/purchase-orders/{approved}/send", data={"csrf_token": token},
                  follow_redirects=True).get_data(as_text=True)
    assert "approved, not sent: email: SMTP 550 refused recipient x@refused.test" in page
    page = c.post(f"/purchase-orders/{approved}/cancel", data={"csrf_token": token},
                  follow_redirects=True).get_data(as_text=True)
    assert "Purchase order PO-T-0002 cancelled." in page
    page = c.post(f"/purchase-orders/{approved}/send", data={"csrf_token": token},
                  follow_redirects=True).get_data(as_text=True)
    assert "Could not send: purchase order PO-T-0002 is cancelled" in page
    with ctx.sessions() as s:
        assert {ln.sku: ln.quantity for ln in s.scalars(select(PurchaseOrderLine).where(
            PurchaseOrderLine.purchase_order_id == draft))} == {"TEA": 30}
    assert inbox.messages == []
    ctx.engine.dispose()
