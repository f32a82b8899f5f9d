"""AdminClient against a real HTTP server on 127.0.0.1 (no mocking of requests)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connector.adapters.shopify.client import (
    AdminClient,
    ShopifyAuthError,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyServerError,
    ShopifyThrottled,
)
from connector.adapters.shopify.queries import LOCATIONS_QUERY

OK = {"data": {"shop": {"name": "Demo"}},
      "extensions": {"cost": {"requestedQueryCost": 252, "actualQueryCost": 12,
                              "throttleStatus": {"maximumAvailable": 2000.0,
                                                 "currentlyAvailable": 1988.0,
                                                 "restoreRate": 100.0}}}}


class FakeShopify:
    """A scripted GraphQL endpoint: answers requests in order, records what it received."""

    def __init__(self):
        self.script: list[tuple[int, dict, object]] = []
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                fake.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(self.rfile.read(length))})
                status, headers, body = fake.script.pop(0) if fake.script else (200, {}, OK)
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.02}, daemon=True)

    def reply(self, status=200, body=OK, **headers):
        self.script.append((status, {k.replace("_", "-"): v for k, v in headers.items()}, body))


@pytest.fixture
def shop():
    fake = FakeShopify()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def sleeps():
    return []


def make_client(shop, sleeps, **kwargs):
    kwargs.setdefault("max_retries", 5)
    return AdminClient("demo.myshopify.com", "shpat_test", admin_url=shop.url + "/",
                       sleep=sleeps.append, clock=lambda: 0.0, rng=lambda: 0.5,
                       timeout=5, **kwargs)


def test_url_from_admin_url_and_token_header(shop, sleeps):
    client = make_client(shop, sleeps, api_version="2026-07")
    assert client.endpoint == f"{shop.url}/admin/api/2026-07/graphql.json"
    data = client.execute(LOCATIONS_QUERY, {"after": None})
    assert data == OK["data"]
    (req,) = shop.requests
    assert req["path"] == "/admin/api/2026-07/graphql.json"
    assert req["headers"]["X-Shopify-Access-Token"] == "shpat_test"
    assert req["body"] == {"query": LOCATIONS_QUERY, "variables": {"after": None}}
    assert sleeps == []


def test_default_url_is_the_shop_domain():
    client = AdminClient("demo.myshopify.com", "t")
    assert client.endpoint == "https://demo.myshopify.com/admin/api/2026-07/graphql.json"


def test_429_honours_retry_after(shop, sleeps):
    shop.reply(429, {"errors": "Throttled"}, Retry_After="2.5", X_Request_Id="r-429")
    shop.reply()
    assert make_client(shop, sleeps).execute("{ shop { name } }") == OK["data"]
    assert sleeps == [2.5]
    assert len(shop.requests) == 2


def test_502_twice_then_success_backs_off_exponentially(shop, sleeps):
    shop.reply(502, "bad gateway")
    shop.reply(502, "bad gateway")
    shop.reply()
    client = make_client(shop, sleeps, backoff_base=1.0, backoff_cap=30.0)
    assert client.execute("{ shop { name } }") == OK["data"]
    # equal jitter with rng 0.5: d/2 + 0.5 * d/2 = 0.75 d, d = 1, 2
    assert sleeps == [0.75, 1.5]


def test_throttled_waits_for_the_bucket_then_retries(shop, sleeps):
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {"requestedQueryCost": 782, "actualQueryCost": None,
                                "throttleStatus": {"maximumAvailable": 2000.0,
                                                   "currentlyAvailable": 182.0,
                                                   "restoreRate": 100.0}}},
    }
    shop.reply(200, throttled, X_Request_Id="r-thr")
    shop.reply()
    assert make_client(shop, sleeps).execute("{ shop { name } }") == OK["data"]
    assert sleeps == [pytest.approx((782 - 182) / 100)]
    assert len(shop.requests) == 2


def test_throttled_every_time_raises_shopify_throttled(shop, sleeps):
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {"requestedQueryCost": 100,
                                "throttleStatus": {"maximumAvailable": 1000.0,
                                                   "currentlyAvailable": 0.0,
                                                   "restoreRate": 50.0}}},
    }
    for _ in range(3):
        shop.reply(200, throttled, X_Request_Id="r-last")
    with pytest.raises(ShopifyThrottled) as info:
        make_client(shop, sleeps, max_retries=2).execute("{ shop { name } }")
    assert info.value.request_id == "r-last"
    assert sleeps == [2.0, 2.0]


def test_401_raises_auth_error_with_request_id(shop, sleeps):
    shop.reply(401, {"errors": "[API] Invalid API key or access token"},
               X_Request_Id="abc-123")
    with pytest.raises(ShopifyAuthError) as info:
        make_client(shop, sleeps).execute("{ shop { name } }")
    assert info.value.request_id == "abc-123"
    assert info.value.status == 401
    assert "abc-123" in str(info.value)
    assert len(shop.requests) == 1 and sleeps == []


def test_retries_are_capped_then_server_error(shop, sleeps):
    for i in range(10):
        shop.reply(503, "unavailable", X_Request_Id=f"r-{i}")
    client = make_client(shop, sleeps, max_retries=4, backoff_base=1.0, backoff_cap=4.0)
    with pytest.raises(ShopifyServerError) as info:
        client.execute("{ shop { name } }")
    assert len(shop.requests) == 5
    assert info.value.request_id == "r-4"
    assert info.value.status == 503
    # d = 1, 2, 4, 4 (capped); sleep 0.75 d
    assert sleeps == [0.75, 1.5, 3.0, 3.0]


def test_connection_errors_are_retried_then_server_error(sleeps):
    # A port nobody listens on: bind, read the port, close.
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{probe.server_address[1]}"
    probe.server_close()
    client = AdminClient("demo.myshopify.com", "t", admin_url=url, max_retries=2,
                         sleep=sleeps.append, rng=lambda: 0.0, timeout=2)
    with pytest.raises(ShopifyServerError) as info:
        client.execute("{ shop { name } }")
    assert info.value.request_id is None
    assert len(sleeps) == 2


def test_other_graphql_errors_raise_with_request_id(shop, sleeps):
    shop.reply(200, {"errors": [{"message": "Field 'nope' doesn't exist on type 'Shop'",
                                 "extensions": {"code": "undefinedField"}}]},
               X_Request_Id="r-gql")
    with pytest.raises(ShopifyGraphQLError) as info:
        make_client(shop, sleeps).execute("{ shop { nope } }")
    assert info.value.request_id == "r-gql"
    assert info.value.errors[0]["extensions"]["code"] == "undefinedField"
    assert sleeps == []


def test_unexpected_status_is_not_retried(shop, sleeps):
    shop.reply(404, "Not Found", X_Request_Id="r-404")
    with pytest.raises(ShopifyError) as info:
        make_client(shop, sleeps).execute("{ shop { name } }")
    assert type(info.value) is ShopifyError and info.value.request_id == "r-404"
    assert len(shop.requests) == 1


def test_proactive_pacing_waits_when_bucket_is_low(shop, sleeps):
    low = {"data": {"shop": {"name": "Demo"}},
           "extensions": {"cost": {"requestedQueryCost": 782, "actualQueryCost": 700,
                                   "throttleStatus": {"maximumAvailable": 1000.0,
                                                      "currentlyAvailable": 300.0,
                                                      "restoreRate": 50.0}}}}
    shop.reply(200, low)
    shop.reply(200, low)
    client = make_client(shop, sleeps)
    client.execute("query A { shop { name } }")
    assert sleeps == []
    # Same document again: Shopify asked 782 last time, 300 are left -> (782-300)/50 s.
    client.execute("query A { shop { name } }")
    assert sleeps == [pytest.approx(9.64)]
    # An explicit expected cost below what is left needs no wait.
    client.execute("query B { shop { name } }", expected_cost=10)
    assert sleeps == [pytest.approx(9.64)]
