"""ShipBob client and adapter against the ShipBob fake on loopback, both checked against the
real ShipBob 2026-01 OpenAPI description; webhook signatures against a published vector.

Expected numbers come from the fake's hand-made state (ground truth), not from the code
under test.
"""
from __future__ import annotations

import hashlib
import json
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import requests

from connector.adapters.shipbob import adapter
from connector.adapters.shipbob.client import (ShipBobAuthError, ShipBobClient, ShipBobError,
                                               ShipBobNotFound, ShipBobRequestInvalid,
                                               ShipBobResponseInvalid, ShipBobServerError,
                                               ShipBobThrottled)
from connector.adapters.shipbob.openapi import (DEFAULT_PATH, OpenAPIDescription,
                                                SchemaViolation)
from connector.adapters.shipbob.webhooks import (ShipBobWebhookEvent, WebhookPayloadError,
                                                 WebhookSignatureError, parse_webhook, sign,
                                                 verify_signature, webhook_topics)
from core.storage import PurchaseOrder, PurchaseOrderLine
from sandbox.shipbob_fake import ShipBobFake, serve

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "shipbob" / "openapi.json"
TOKEN = "pat-test-token"
RECEIVING = "/2026-01/receiving"
FC_CHI, FC_RNO = 10, 11

#: Ground truth: inventory_id, sku, fc, on_hand, committed, awaiting, transfer, fulfillable.
#: fulfillable is set apart from on_hand - committed where ShipBob holds units back, so each
#: mapped column can only come from its own field.
STOCK = [
    (501, "TEA-GREEN", FC_CHI, 120, 15, 40, 3, 100),
    (501, "TEA-GREEN", FC_RNO, 30, 2, 0, 0, 28),
    (502, "TEA-BLACK", FC_CHI, 8, 8, 25, 0, 0),
    (503, "MUG-BLUE", FC_RNO, 55, 5, 10, 7, 49),
    (504, "FILTER-50", FC_CHI, 0, 0, 0, 0, 0),
]


@pytest.fixture(scope="module")
def description() -> OpenAPIDescription:
    return OpenAPIDescription.from_file(FIXTURE)


@pytest.fixture
def fake(description):
    fake = ShipBobFake(token=TOKEN, description=description)
    fake.state.add_fulfillment_center(FC_CHI, "Chicago (IL)", city="Elk Grove Village")
    fake.state.add_fulfillment_center(FC_RNO, "Reno (NV)", city="Reno")
    for inv, sku, fc, on_hand, committed, awaiting, transfer, fulfillable in STOCK:
        fake.state.add_inventory(inv, sku, fc, on_hand=on_hand, committed=committed,
                                 awaiting=awaiting, internal_transfer=transfer,
                                 fulfillable=fulfillable)
    yield fake
    assert fake.internal_errors == [], "the fake answered something the description forbids"


@pytest.fixture
def server(fake):
    srv = serve(fake)
    yield srv
    srv.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(server, sleeps, description) -> ShipBobClient:
    return ShipBobClient(server.url, TOKEN, max_retries=4, sleep=sleeps.append,
                         description=description, timeout=10, rng=lambda: 1.0)


def approved_po(number: str = "PO-2026-0042") -> tuple[PurchaseOrder, list[PurchaseOrderLine]]:
    po = PurchaseOrder(number=number, status="approved", expected_at=date(2026, 12, 7),
                       supplier_id=1, shop_id=1, idempotency_key=number)
    lines = [PurchaseOrderLine(sku="TEA-GREEN", quantity=60, variant_id=1),
             PurchaseOrderLine(sku="MUG-BLUE", quantity=24, variant_id=2),
             PurchaseOrderLine(sku="TEA-BLACK", quantity=0, variant_id=3)]
    return po, lines


# ---------------------------------------------------------------------------- description
def test_fixture_and_packaged_description_match_sources():
    sources = (FIXTURE.parent / "SOURCES.md").read_text()
    fixture_sha = hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
    assert fixture_sha in sources
    assert hashlib.sha256(DEFAULT_PATH.read_bytes()).hexdigest() == fixture_sha
    doc = json.loads(FIXTURE.read_text())
    assert doc["openapi"].startswith("3.1") and len(doc["paths"]) == 62


def test_request_problems_name_the_json_path(description):
    body = {"fulfillment_center": {"id": FC_CHI}, "package_type": "Package",
            "box_packaging_type": "EverythingInOneBox", "expected_arrival_date": "2026-12-07",
            "boxes": [{"box_items": [{"inventory_id": 501, "quantity": "60"}]}]}
    with pytest.raises(SchemaViolation) as err:
        description.validate_request("POST", RECEIVING, body)
    assert set(err.value.paths) == {"$.boxes[0].tracking_number",
                                    "$.boxes[0].box_items[0].quantity",
                                    "$.expected_arrival_date"}


# ---------------------------------------------------------------------------- inventory
def test_inventory_pull_maps_quantities(client, fake):
    records = adapter.pull_inventory(client, as_of=date(2026, 11, 20), page_size=2)
    inv = records.inventory.set_index(["sku", "location_external_id"])
    assert len(inv) == len(STOCK)
    for _, sku, fc, on_hand, committed, awaiting, _transfer, fulfillable in STOCK:
        row = inv.loc[(sku, f"shipbob:{fc}")]
        assert (row["available"], row["on_hand"], row["committed"], row["incoming"]) == (
            fulfillable, on_hand, committed, awaiting), sku
        assert row["date"] == pd.Timestamp("2026-11-20")
    assert records.locations.set_index("external_id")["name"].to_dict() == {
        "shipbob:10": "Chicago (IL)", "shipbob:11": "Reno (NV)"}
    assert set(records.locations["kind"]) == {"warehouse"}
    # 4 items, 2 per page: the client followed ShipBob's `next` links.
    assert fake.calls("GET", "/2026-01/inventory-level/locations") == [200, 200]


def test_inventory_totals_are_paginated(client, fake):
    items = client.inventory_levels(page_size=3)
    assert sorted(i["inventory_id"] for i in items) == [501, 502, 503, 504]
    tea = next(i for i in items if i["sku"] == "TEA-GREEN")
    assert tea["total_on_hand_quantity"] == 150 and tea["total_fulfillable_quantity"] == 128
    assert fake.calls("GET", "/2026-01/inventory-level") == [200, 200]


def test_fulfillment_centers(client):
    assert [fc["id"] for fc in client.fulfillment_centers()] == [FC_CHI, FC_RNO]


# ---------------------------------------------------------------------------- WROs
def test_wro_created_from_po_with_the_right_items(client, fake, description):
    po, lines = approved_po()
    wro_id = adapter.push_purchase_order(client, po, lines, FC_CHI)
    stored = fake.state.wros[wro_id]
    body = stored["body"]
    description.validate_request("POST", RECEIVING, body)  # what went over the wire
    assert fake.rejected == []
    assert body["purchase_order_number"] == "PO-2026-0042"
    assert body["fulfillment_center"] == {"id": FC_CHI}
    assert body["expected_arrival_date"] == "2026-12-07T00:00:00Z"
    assert body["package_type"] == "Package"
    assert body["box_packaging_type"] == "EverythingInOneBox"
    assert len(body["boxes"]) == 1
    assert {(i["inventory_id"], i["quantity"]) for i in body["boxes"][0]["box_items"]} == {
        (501, 60), (503, 24)}
    # The WRO shows up as awaiting stock at the receiving FC.
    assert fake.state.items[501]["levels"][FC_CHI]["awaiting_quantity"] == 40 + 60
    # Pushing the same PO again finds the WRO instead of creating another.
    assert adapter.push_purchase_order(client, po, lines, FC_CHI) == wro_id
    assert len(fake.state.wros) == 1 and fake.calls("POST", RECEIVING) == [201]


def test_only_an_approved_po_with_known_skus_is_pushed(client, fake):
    po, lines = approved_po()
    po.status = "draft"
    with pytest.raises(adapter.ShipBobMappingError, match="draft"):
        adapter.push_purchase_order(client, po, lines, FC_CHI)
    po.status = "approved"
    with pytest.raises(adapter.ShipBobMappingError, match="NOPE"):
        adapter.push_purchase_order(client, po, [PurchaseOrderLine(sku="NOPE", quantity=1)],
                                    FC_CHI)
    assert fake.state.wros == {}


def test_lost_create_response_is_retried_into_exactly_one_wro(client, fake, sleeps):
    fake.faults.lose_response("POST", RECEIVING)  # created, then answered 503
    po, lines = approved_po("PO-LOST-1")
    wro_id = adapter.push_purchase_order(client, po, lines, FC_RNO)
    assert list(fake.state.wros) == [wro_id]
    assert fake.calls("POST", RECEIVING) == [503]  # never sent twice
    assert len(sleeps) == 1


def test_post_without_recovery_is_not_resent(client, fake, sleeps):
    fake.faults.lose_response("POST", RECEIVING)
    body = {"fulfillment_center": {"id": FC_CHI}, "package_type": "Package",
            "box_packaging_type": "EverythingInOneBox",
            "expected_arrival_date": "2026-12-01T00:00:00Z", "purchase_order_number": "PO-RAW",
            "boxes": [{"tracking_number": None, "box_items": [{"inventory_id": 501,
                                                                "quantity": 1}]}]}
    with pytest.raises(ShipBobServerError):
        client.request("POST", RECEIVING, body=body)
    assert fake.calls("POST", RECEIVING) == [503] and sleeps == []


def test_random_5xx_still_yield_one_wro(fake, server, description, sleeps):
    fake.faults.error_rate, fake.faults.seed = 0.4, 7
    client = ShipBobClient(server.url, TOKEN, max_retries=10, sleep=sleeps.append,
                           description=description, timeout=10)
    po, lines = approved_po("PO-FLAKY-1")
    wro_id = adapter.push_purchase_order(client, po, lines, FC_CHI)
    assert list(fake.state.wros) == [wro_id]
    assert any(s >= 500 for _, _, s in fake.log), "the seed should have injected faults"


def test_receiving_status_read_back(client, fake):
    po, lines = approved_po("PO-RECV-1")
    wro_id = adapter.push_purchase_order(client, po, lines, FC_CHI)
    first = adapter.poll_receiving(client, wro_id)
    assert (first["status"], first["po_status"]) == ("Awaiting", "sent")
    assert first["received"] == {"TEA-GREEN": 0, "MUG-BLUE": 0}
    fake.state.receive(wro_id, {"TEA-GREEN": 45, 503: 24})
    part = adapter.poll_receiving(client, wro_id)
    assert (part["status"], part["po_status"]) == ("Processing", "partially_received")
    assert part["received"] == {"TEA-GREEN": 45, "MUG-BLUE": 24}
    assert part["expected"] == {"TEA-GREEN": 60, "MUG-BLUE": 24}
    fake.state.receive(wro_id, {"TEA-GREEN": 15})
    done = adapter.poll_receiving(client, wro_id)
    assert (done["status"], done["po_status"]) == ("Completed", "received")
    assert done["received"] == {"TEA-GREEN": 60, "MUG-BLUE": 24}
    assert done["purchase_order_number"] == "PO-RECV-1"
    # Received units moved from awaiting to on hand at the FC.
    level = fake.state.items[501]["levels"][FC_CHI]
    assert (level["on_hand_quantity"], level["awaiting_quantity"]) == (120 + 60, 40)
    fake.state.set_status(wro_id, "Cancelled")
    assert adapter.poll_receiving(client, wro_id)["po_status"] == "cancelled"


# ---------------------------------------------------------------------------- errors
def test_4xx_raises_with_the_api_message(client):
    with pytest.raises(ShipBobNotFound) as err:
        client.get_receiving_order(424242)
    assert err.value.status == 404
    assert err.value.message == "Receiving order 424242 not found"
    assert err.value.request_id
    with pytest.raises(ShipBobError) as err:
        client.create_receiving_order(fulfillment_center_id=FC_CHI, items={999: 5},
                                      expected_arrival_date=date(2026, 12, 1),
                                      purchase_order_number="PO-BAD-ITEM")
    assert err.value.status == 400
    assert err.value.validation_errors == {
        "boxes[0].box_items[0].inventory_id": ["Inventory 999 does not exist"]}
    assert "Inventory 999 does not exist" in str(err.value)


def test_bad_token_is_an_auth_error(server, description):
    bad = ShipBobClient(server.url, "wrong", description=description, sleep=lambda s: None)
    with pytest.raises(ShipBobAuthError) as err:
        bad.fulfillment_centers()
    assert err.value.status == 401 and "denied" in err.value.message


def test_invalid_request_is_refused_before_sending(client, fake):
    with pytest.raises(ShipBobRequestInvalid) as err:
        client.create_receiving_order(fulfillment_center_id=FC_CHI, items={501: 5},
                                      expected_arrival_date=date(2026, 12, 1),
                                      purchase_order_number="PO-X", package_type="Crate")
    assert [p.path for p in err.value.problems] == ["$.package_type"]
    with pytest.raises(ShipBobRequestInvalid) as err:
        client.create_receiving_order(fulfillment_center_id=FC_CHI, items={},
                                      expected_arrival_date="next tuesday",
                                      purchase_order_number="PO-X",
                                      boxes=[{"box_items": [{"inventory_id": 501}]}])
    assert {p.path for p in err.value.problems} == {
        "$.expected_arrival_date", "$.boxes[0].tracking_number",
        "$.boxes[0].box_items[0].quantity"}
    with pytest.raises(ShipBobRequestInvalid, match=r"query\.Limit"):
        client.request("GET", RECEIVING, params={"Limit": "ten"})
    assert fake.log == []  # nothing reached the wire


def test_fake_refuses_invalid_body_shipbob_style(server, fake, description):
    resp = requests.post(server.url + RECEIVING, timeout=10,
                         headers={"Authorization": f"Bearer {TOKEN}"},
                         json={"fulfillment_center": {"id": FC_CHI}, "package_type": "Package",
                               "box_packaging_type": "EverythingInOneBox",
                               "expected_arrival_date": "2026-12-01T00:00:00Z",
                               "boxes": [{"tracking_number": None,
                                          "box_items": [{"inventory_id": 501}]}]})
    assert resp.status_code == 400
    assert resp.json() == {"$.boxes[0].box_items[0].quantity": [
        "'quantity' is a required property"]}
    description.validate_response("POST", RECEIVING, 400, resp.json())
    assert fake.state.wros == {}


def test_response_violating_the_description_fails_loudly(client, fake):
    po, lines = approved_po("PO-CORRUPT")
    wro_id = adapter.push_purchase_order(client, po, lines, FC_CHI)
    fake.faults.corrupt_response("GET", RECEIVING + "/{id}", lambda b: {**b, "status": "Lost"})
    with pytest.raises(ShipBobResponseInvalid) as err:
        adapter.poll_receiving(client, wro_id)
    assert [p.path for p in err.value.problems] == ["$.status"]

    def stringify(body):
        body["items"][0]["locations"][0]["on_hand_quantity"] = "120"
        return body
    fake.faults.corrupt_response("GET", "/2026-01/inventory-level/locations", stringify)
    with pytest.raises(ShipBobResponseInvalid, match=r"\$\.items\[0\]\.locations\[0\]"
                                                     r"\.on_hand_quantity"):
        adapter.pull_inventory(client)


def test_429_waits_retry_after(client, fake, sleeps):
    fake.faults.throttle(count=2, retry_after=7)
    assert len(client.fulfillment_centers()) == 2
    assert sleeps == [7, 7]
    assert client.remaining_calls == 149
    fake.faults.throttle(count=5, retry_after=1)
    with pytest.raises(ShipBobThrottled) as err:
        client.fulfillment_centers()
    assert err.value.status == 429 and "Rate limit is exceeded" in err.value.message


def test_5xx_backoff_is_capped_then_gives_up(fake, server, description):
    waits: list[float] = []
    fake.faults.error_rate = 1.0
    client = ShipBobClient(server.url, TOKEN, max_retries=5, sleep=waits.append,
                           description=description, backoff_base=1, backoff_cap=4,
                           rng=lambda: 1.0)
    with pytest.raises(ShipBobServerError) as err:
        client.fulfillment_centers()
    assert err.value.status == 503
    assert waits == [1, 2, 4, 4, 4]


# ---------------------------------------------------------------------------- webhooks
# The Standard Webhooks specification's published example (ShipBob's docs use the secret).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID, VECTOR_TS = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def vector_headers(**overrides) -> dict:
    headers = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS),
               "webhook-signature": VECTOR_SIG, "x-webhook-topic": "order.shipped"}
    headers.update(overrides)
    return headers


def test_webhook_signature_published_vector_verifies():
    verify_signature(VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=VECTOR_TS + 10)
    # Several signatures (key rotation): any v1 match is enough.
    verify_signature(VECTOR_SECRET, vector_headers(**{
        "webhook-signature": f"v1,bm90IGl0 {VECTOR_SIG}"}), VECTOR_BODY, now=VECTOR_TS)


@pytest.mark.parametrize("change", ["body", "secret", "id", "stale", "missing", "version"])
def test_webhook_signature_refused(change):
    secret, headers, body, now = VECTOR_SECRET, vector_headers(), VECTOR_BODY, VECTOR_TS
    if change == "body":
        body = b'{"test": 2432232315}'
    elif change == "secret":
        secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    elif change == "id":
        headers["webhook-id"] = "msg_other"
    elif change == "stale":
        now = VECTOR_TS + 301
    elif change == "missing":
        del headers["webhook-signature"]
    elif change == "version":
        headers["webhook-signature"] = VECTOR_SIG.replace("v1,", "v2,")
    with pytest.raises(WebhookSignatureError):
        verify_signature(secret, headers, body, now=now)


def test_webhook_parsed_into_typed_event():
    assert "order.shipped" in webhook_topics() and "return.completed" in webhook_topics()
    body = json.dumps({"id": 77001, "order_id": 5512, "reference_id": "#1042",
                       "status": "Completed"}).encode()
    now = int(time.time())
    headers = {"Webhook-Id": "msg_1", "Webhook-Timestamp": str(now),
               "Webhook-Signature": sign(VECTOR_SECRET, "msg_1", now, body),
               "X-Webhook-Topic": "order.shipped"}
    event = parse_webhook(VECTOR_SECRET, headers, body)
    assert isinstance(event, ShipBobWebhookEvent)
    assert (event.topic, event.kind, event.known) == ("order.shipped", "shipment", True)
    assert (event.webhook_id, event.order_id, event.reference_id) == ("msg_1", 5512, "#1042")
    assert event.timestamp.timestamp() == now
    headers["X-Webhook-Topic"] = "inventory.changed"
    assert parse_webhook(VECTOR_SECRET, headers, body).known is False
    del headers["X-Webhook-Topic"]
    with pytest.raises(WebhookPayloadError):
        parse_webhook(VECTOR_SECRET, headers, body)
    with pytest.raises(WebhookSignatureError):
        parse_webhook(VECTOR_SECRET, headers, body + b" ")
