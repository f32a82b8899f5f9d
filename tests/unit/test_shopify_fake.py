"""The Shopify Admin GraphQL fake, over loopback HTTP with the real AdminClient and schema."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import requests
from graphql import parse

from connector.adapters.shopify.client import AdminClient, ShopifyGraphQLError
from connector.adapters.shopify.queries import DOCUMENTS, REQUESTED_COST
from connector.adapters.shopify.schema import admin_schema, estimate_cost
from sandbox import generate
from sandbox.shopify_fake import INVALID_TOKEN_BODY, ManualClock, get_fake, make_fake_app, serve_fake
from sandbox.shopify_fake.nodes import FakeContext
from sandbox.shopify_fake.resources import QueryRoot
from sandbox.shopify_fake.walk import walk

TOKEN = "shpat_test"


@pytest.fixture(scope="module")
def sandbox_shop():
    return generate(seed=3, n_skus=25, n_customers=600, n_days=200, n_locations=2)


@pytest.fixture
def clock(sandbox_shop):
    start = (sandbox_shop.end + timedelta(days=1, hours=6)).tz_localize("UTC").to_pydatetime()
    return ManualClock(start, real_sleep=0.002)


@pytest.fixture
def serve(sandbox_shop, clock):
    stops = []

    def start(**knobs):
        knobs.setdefault("clock", clock.monotonic)
        knobs.setdefault("now", clock.now)
        app = make_fake_app(sandbox_shop, TOKEN, **knobs)
        url, stop = serve_fake(app)
        stops.append(stop)
        return url, get_fake(app)

    yield start
    for stop in stops:
        stop()


def client_for(url, clock, **kw):
    kw.setdefault("max_retries", 5)
    return AdminClient("sandbox.myshopify.com", TOKEN, admin_url=url, sleep=clock.sleep,
                       clock=clock.monotonic, rng=lambda: 0.5, timeout=kw.pop("timeout", 10),
                       **kw)


def post(url, query, variables=None, token=TOKEN):
    return requests.post(f"{url}/admin/api/2026-07/graphql.json",
                         json={"query": query, "variables": variables or {}},
                         headers={"X-Shopify-Access-Token": token}, timeout=10)


# ---------------------------------------------------------------------- auth and validation
def test_wrong_token_gets_shopifys_401_body_and_a_request_id(serve):
    url, _ = serve()
    resp = post(url, "{ shop { name } }", token="nope")
    assert resp.status_code == 401
    assert resp.json() == INVALID_TOKEN_BODY
    assert resp.headers["X-Request-Id"]
    ok = post(url, "{ shop { name } }")
    assert ok.status_code == 200 and ok.headers["X-Request-Id"] != resp.headers["X-Request-Id"]


@pytest.mark.parametrize("query, code, fragment", [
    ("query { customers(first: 1) { nodes { id email } } }", "deprecatedField",
     "Customer.email is deprecated"),
    ("query { customers(first: 1) { nodes { id emailAdress } } }", "undefinedField",
     "Cannot query field 'emailAdress' on type 'Customer'"),
    ("query { location(id: \"gid://shopify/Location/1\") { inventoryLevels(first: 1) "
     "{ nodes { available } } } }", "undefinedField", "Cannot query field 'available'"),
    ("query { products(first: 1) { nodes { id } }", "parseError", "Syntax Error"),
])
def test_invalid_and_deprecated_fields_are_refused_like_shopify(serve, query, code, fragment):
    url, _ = serve()
    resp = post(url, query)
    assert resp.status_code == 200
    body = resp.json()
    assert "data" not in body
    (error,) = [e for e in body["errors"] if fragment in e["message"]]
    assert error["extensions"]["code"] == code
    assert error["locations"][0]["line"] >= 1
    assert "throttleStatus" in body["extensions"]["cost"]


def test_client_raises_graphql_error_for_a_refused_field(serve, clock):
    url, _ = serve()
    with pytest.raises(ShopifyGraphQLError, match="Customer.email is deprecated"):
        client_for(url, clock).execute("query { customers(first: 1) { nodes { email } } }")


def test_connection_without_page_size_and_too_costly_queries_are_refused(serve):
    url, _ = serve()
    body = post(url, "query { orders { nodes { id } } }").json()
    assert "first or last" in body["errors"][0]["message"]
    heavy = "query { orders(first: 250) { nodes { id lineItems(first: 50) { nodes { id } } } } }"
    body = post(url, heavy).json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == estimate_cost(heavy) > 1000


# ---------------------------------------------------------------------- reads, pages, filters
def test_every_restock_document_answers_without_errors(serve, clock):
    url, _ = serve()
    client = client_for(url, clock)
    some = {"productId": "gid://shopify/Product/8000000001",
            "orderId": "gid://shopify/Order/5000000001",
            "locationId": "gid://shopify/Location/1", "id": "gid://shopify/BulkOperation/1"}
    for name in ("products", "product_variants", "locations", "inventory_levels", "customers",
                 "orders", "order_line_items", "order_refunds", "bulk_operation",
                 "running_bulk_operations"):
        data = client.execute(DOCUMENTS[name], some)
        assert data, name
        cost = client.last_cost
        assert cost["requestedQueryCost"] == REQUESTED_COST[name]
        assert 0 <= cost["actualQueryCost"] <= cost["requestedQueryCost"]
        assert cost["throttleStatus"]["maximumAvailable"] == 2000.0
        assert cost["throttleStatus"]["restoreRate"] == 100.0


def test_customer_pages_cover_everyone_once_in_updated_order(serve, clock, sandbox_shop):
    url, fake = serve()
    client = client_for(url, clock)
    seen, after = [], None
    while True:
        page = client.execute(DOCUMENTS["customers"], {"after": after})["customers"]
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    ids = [n["id"].rsplit("/", 1)[1] for n in seen]
    assert sorted(ids) == sorted(sandbox_shop.records.customers["external_id"])
    stamps = [n["updatedAt"] for n in seen]
    assert stamps == sorted(stamps)
    marketing = {n["id"].rsplit("/", 1)[1]: n["defaultEmailAddress"]["marketingState"]
                 for n in seen}
    truth = dict(zip(sandbox_shop.records.customers["external_id"],
                     sandbox_shop.records.customers["accepts_marketing"]))
    for ext, state in marketing.items():
        assert (state == "SUBSCRIBED") == bool(truth[ext])
        assert state in ("SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED")


def test_reverse_and_backward_pages_mirror_forward_pages(serve):
    url, _ = serve()
    query = ("query($a: String, $b: String, $f: Int, $l: Int, $r: Boolean) { customers(first: $f, "
             "last: $l, after: $a, before: $b, reverse: $r, sortKey: UPDATED_AT) { nodes { id } "
             "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }")

    def collect(**variables):
        out, cursor = [], None
        backward = "l" in variables
        while True:
            page = post(url, query, {**variables, ("b" if backward else "a"): cursor}).json()
            conn = page["data"]["customers"]
            ids = [n["id"] for n in conn["nodes"]]
            out = ids + out if backward else out + ids
            info = conn["pageInfo"]
            if not info["hasPreviousPage" if backward else "hasNextPage"]:
                return out
            cursor = info["startCursor" if backward else "endCursor"]

    forward = collect(f=150)
    assert len(forward) == len(set(forward)) == 600
    assert collect(f=150, r=True) == forward[::-1]
    assert collect(l=150) == forward


def test_updated_at_filter_returns_exactly_the_later_orders(serve, clock):
    url, fake = serve()
    client = client_for(url, clock)
    since = "2026-11-01T00:00:00Z"
    expected = sorted(str(o.id) for o in fake.store.orders.values()
                      if o.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ") > since)
    got, after = [], None
    while True:
        page = client.execute(DOCUMENTS["orders"], {"after": after,
                                                    "query": f"updated_at:>'{since}'"})["orders"]
        got += [n["id"].rsplit("/", 1)[1] for n in page["nodes"]]
        assert all(n["updatedAt"] > since for n in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(got) == expected and len(got) == len(set(got)) > 8


def test_orders_carry_pos_location_marketplace_source_and_refunds(serve, clock, sandbox_shop):
    url, fake = serve()
    client = client_for(url, clock)
    rec = sandbox_shop.records
    pos = rec.orders[rec.orders["source"] == "pos"].iloc[0]
    market = rec.orders[rec.orders["source"] == "marketplace"].iloc[0]
    refunded = rec.order_lines[rec.order_lines["refunded_quantity"] > 0].iloc[0]
    o = client.execute(DOCUMENTS["order_refunds"],
                       {"orderId": f"gid://shopify/Order/{refunded.order_external_id}"})["order"]
    (refund,) = o["refunds"]
    (rli,) = [r for r in refund["refundLineItems"]["nodes"]
              if r["lineItem"]["id"].endswith(refunded.external_id)]
    assert rli["quantity"] == refunded.refunded_quantity
    query = "query($id: ID!) { order(id: $id) { sourceName retailLocation { id } tags } }"
    got = client.execute(query, {"id": f"gid://shopify/Order/{pos.external_id}"})["order"]
    assert got["sourceName"] == "pos"
    assert got["retailLocation"]["id"] == f"gid://shopify/Location/{pos.location_external_id}"
    got = client.execute(query, {"id": f"gid://shopify/Order/{market.external_id}"})["order"]
    assert got["sourceName"] == "amazon" and got["retailLocation"] is None
    assert "marketplace" in got["tags"]


# ---------------------------------------------------------------------- throttling
def test_small_bucket_throttles_and_the_client_waits_on_the_fake_clock(serve, clock):
    url, fake = serve(max_available=1000, restore_rate=50)
    raw = post(url, DOCUMENTS["customers"]).json()  # 802 of 1000 points, all returned
    again = post(url, DOCUMENTS["customers"]).json()
    assert again["errors"] == [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]
    status = again["extensions"]["cost"]["throttleStatus"]
    assert status["currentlyAvailable"] < 802 and status["maximumAvailable"] == 1000
    assert raw["extensions"]["cost"]["actualQueryCost"] == 802
    client = client_for(url, clock)
    data = client.execute(DOCUMENTS["customers"], {})
    assert len(data["customers"]["nodes"]) == 200
    assert sum(clock.slept) >= (802 - status["currentlyAvailable"]) / 50 - 1e-6
    assert [c["code"] for c in fake.calls].count("THROTTLED") >= 2


# ---------------------------------------------------------------------- bulk operations
def test_bulk_operation_states_and_jsonl_with_parent_ids(serve, clock, sandbox_shop):
    url, fake = serve(bulk_min_seconds=30)
    finished = []
    fake.bulk.listeners.append(finished.append)
    client = client_for(url, clock)
    run = client.execute(DOCUMENTS["bulk_operation_run_query"],
                         {"query": DOCUMENTS["bulk_products"]})["bulkOperationRunQuery"]
    assert run["userErrors"] == [] and run["bulkOperation"]["status"] == "CREATED"
    op_id = run["bulkOperation"]["id"]
    op = client.execute(DOCUMENTS["bulk_operation"], {"id": op_id})["bulkOperation"]
    assert op["status"] in ("CREATED", "RUNNING") and op["url"] is None
    running = client.execute(DOCUMENTS["running_bulk_operations"], {})
    assert [n["id"] for n in running["bulkOperations"]["nodes"]] == [op_id]
    clock.advance(30)
    for _ in range(500):
        op = client.execute(DOCUMENTS["bulk_operation"], {"id": op_id})["bulkOperation"]
        if op["status"] == "COMPLETED":
            break
        clock.sleep(0.1)
    assert op["status"] == "COMPLETED"
    lines = [json.loads(x) for x in requests.get(op["url"], timeout=10).text.splitlines()]
    rec = sandbox_shop.records
    roots = [x for x in lines if "__parentId" not in x]
    children = [x for x in lines if "__parentId" in x]
    assert len(roots) == len(rec.products) == int(op["rootObjectCount"])
    assert len(children) == len(rec.variants) and int(op["objectCount"]) == len(lines)
    assert {c["__parentId"] for c in children} <= {r["id"] for r in roots}
    assert all("variants" not in r for r in roots)
    assert all("inventoryItem" in c and "edges" not in c for c in children)
    assert int(op["fileSize"]) > 0
    assert finished and finished[0]["admin_graphql_api_id"] == op_id
    assert requests.get(op["url"].split("?")[0] + "?sig=forged", timeout=10).status_code == 403


def test_bulk_query_with_deprecated_field_is_refused(serve, clock):
    url, _ = serve()
    body = "query { customers { edges { node { id email } } } }"
    run = client_for(url, clock).execute(DOCUMENTS["bulk_operation_run_query"],
                                         {"query": body})["bulkOperationRunQuery"]
    assert run["bulkOperation"] is None
    assert run["userErrors"][0]["code"] == "INVALID"
    assert "deprecated" in run["userErrors"][0]["message"]


@pytest.mark.parametrize("name", ["bulk_products", "bulk_customers", "bulk_orders",
                                  "bulk_inventory_levels"])
def test_bulk_walker_equals_graphql_core(sandbox_shop, name):
    from graphql import execute

    fake = get_fake(make_fake_app(sandbox_shop))
    doc = parse(DOCUMENTS[name])
    root = name.split("_", 1)[1].replace("inventory_levels", "locations")
    ids = sorted(getattr(fake.store, root))[:300]
    ctx = lambda: FakeContext(fake.store, fake.bulk, unlimited=True, root_ids=ids)  # noqa: E731
    expected = execute(admin_schema(), doc, root_value=QueryRoot(), context_value=ctx())
    assert expected.errors is None
    assert walk(admin_schema(), doc, QueryRoot(), ctx()) == expected.data


# ---------------------------------------------------------------------- mutations
def test_metafields_set_overwrites_and_tags_add_is_a_union(serve, clock):
    url, fake = serve()
    client = client_for(url, clock)
    owner = "gid://shopify/Customer/7000000002"
    first = client.execute(DOCUMENTS["metafields_set"], {"metafields": [
        {"ownerId": owner, "namespace": "restock", "key": "next_due", "type": "date",
         "value": "2026-12-01"}]})["metafieldsSet"]
    second = client.execute(DOCUMENTS["metafields_set"], {"metafields": [
        {"ownerId": owner, "namespace": "restock", "key": "next_due", "type": "date",
         "value": "2026-12-08"}]})["metafieldsSet"]
    assert first["userErrors"] == second["userErrors"] == []
    assert first["metafields"][0]["id"] == second["metafields"][0]["id"]
    assert first["metafields"][0]["ownerType"] == "CUSTOMER"
    read = client.execute('query($id: ID!) { customer(id: $id) { metafield(namespace: '
                          '"restock", key: "next_due") { value } } }', {"id": owner})
    assert read["customer"]["metafield"]["value"] == "2026-12-08"
    bad = client.execute(DOCUMENTS["metafields_set"], {"metafields": [
        {"ownerId": "gid://shopify/Customer/1", "namespace": "restock", "key": "x",
         "type": "date", "value": "2026-12-01"}]})["metafieldsSet"]
    assert bad["userErrors"][0]["message"] == "Owner does not exist."

    order = "gid://shopify/Order/5000000001"
    before = fake.store.orders[5000000001].updated_at
    clock.advance(60)
    for _ in range(2):
        out = client.execute(DOCUMENTS["tags_add"], {"id": order, "tags": ["restock", "vip"]})
        assert out["tagsAdd"]["userErrors"] == [] and out["tagsAdd"]["node"]["id"] == order
    assert fake.store.orders[5000000001].tags == ["restock", "vip"]
    assert fake.store.orders[5000000001].updated_at > before


def test_webhook_subscription_create_refuses_a_duplicate(serve, clock):
    url, fake = serve()
    client = client_for(url, clock)
    variables = {"topic": "BULK_OPERATIONS_FINISH", "uri": "https://example.test/hooks"}
    first = client.execute(DOCUMENTS["webhook_subscription_create"], variables)
    second = client.execute(DOCUMENTS["webhook_subscription_create"], variables)
    sub = first["webhookSubscriptionCreate"]["webhookSubscription"]
    assert sub["topic"] == "BULK_OPERATIONS_FINISH" and sub["format"] == "JSON"
    assert "already been taken" in \
        second["webhookSubscriptionCreate"]["userErrors"][0]["message"]
    assert len(fake.store.webhooks) == 1


# ---------------------------------------------------------------------- faults and hooks
def test_fault_knobs_are_deterministic_and_controllable(serve, clock):
    url, fake = serve(error_rate=0.5, seed=11)
    statuses = [post(url, "{ shop { name } }").status_code for _ in range(40)]
    assert set(statuses) <= {200, 502, 503} and 10 <= statuses.count(200) <= 30
    control = requests.post(f"{url}/_fake/faults", json={"error_rate": 0, "rate_429": 1,
                                                         "retry_after": 2.5, "seed": 11},
                            timeout=10).json()
    assert control["config"]["rate_429"] == 1.0 and control["injected"]["error"] > 0
    resp = post(url, "{ shop { name } }")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "2.5"
    assert requests.post(f"{url}/_fake/faults", json={"nope": 1}, timeout=10).status_code == 400
    url2, _ = serve(error_rate=0.5, seed=11)  # same seed, same sequence
    assert [post(url2, "{ shop { name } }").status_code for _ in range(40)] == statuses


def test_client_rides_out_5xx_and_hangs(serve, clock):
    url, fake = serve(error_rate=0.3, hang_rate=0.2, hang_seconds=0.6, seed=2)
    client = client_for(url, clock, timeout=0.25, max_retries=10)
    for _ in range(12):
        assert client.execute(DOCUMENTS["locations"], {})["locations"]["nodes"]
    assert fake.faults.injected["error"] > 0 and fake.faults.injected["hang"] > 0


def test_hooks_change_orders_and_their_updated_at(serve, clock, sandbox_shop):
    url, fake = serve()
    client = client_for(url, clock)
    clock.advance(3600)
    sku = sandbox_shop.records.variants["sku"].iloc[0]
    order = fake.store.add_order([(sku, 2), ("NOT-A-SKU", 1)], customer_id=7000000002)
    fake.store.add_refund(order.id, [(order.line_ids[0], 1)])
    since = (clock.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    nodes = client.execute(DOCUMENTS["orders"], {"query": f"updated_at:>'{since}'"})[
        "orders"]["nodes"]
    (got,) = nodes
    assert got["id"] == f"gid://shopify/Order/{order.id}"
    skus = [li["sku"] for li in got["lineItems"]["nodes"]]
    assert skus == [sku, "NOT-A-SKU"] and got["lineItems"]["nodes"][1]["variant"] is None
    assert got["refunds"][0]["refundLineItems"]["nodes"][0]["quantity"] == 1
    customers = client.execute(DOCUMENTS["customers"], {"query": f"updated_at:>'{since}'"})
    assert [c["id"] for c in customers["customers"]["nodes"]] == \
        ["gid://shopify/Customer/7000000002"]
    with pytest.raises(ValueError):
        fake.store.add_refund(order.id, [(order.line_ids[0], 5)])


def test_store_lock_allows_concurrent_requests(serve, clock):
    url, _ = serve()
    errors = []

    def worker():
        try:
            assert post(url, DOCUMENTS["locations"]).status_code == 200
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
