"""Shopify install and sign-in against a local fake token endpoint.

The fake (a small Flask app on 127.0.0.1, served by Werkzeug in a thread) implements
``POST /admin/oauth/access_token`` for the token exchange, refresh, client credentials and
authorization-code grants, checks ``client_id``/``client_secret`` and answers with Shopify's
error codes. The install blueprint runs on a minimal Flask app with a temporary SQLite
database. ID tokens and callback HMACs are made here with PyJWT and ``hmac`` as Shopify's
documentation describes them, independently of the code under test.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from flask import Flask, jsonify, request
from sqlalchemy import select, text, update
from werkzeug.serving import make_server

from connector.adapters.shopify.auth import (AuthError, ShopifyOAuth, TokenResult,
                                             valid_shop_domain, verify_id_token)
from connector.adapters.shopify.tokens import (access_token, has_usable_credentials,
                                               shop_for_domain, store_tokens, token_cipher)
from connector.config import ConfigError, Settings
from connector.context import Context
from connector.web.common import close_session
from connector.web.install import install_bp
from core.storage import (OAuthState, ShopCredential, make_engine, make_sessionmaker,
                          upgrade)

API_KEY = "restock-test-client-id"
SECRET = "test-client-secret-0123456789abcdef0123456789"
RESTOCK_KEY = "restock-secret-key-for-tests-0123456789abcdef"
SHOP = "a-shop.myshopify.com"
SCOPES = "read_products,write_inventory"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"


# --- the fake token endpoint ------------------------------------------------------------

class FakeShopify:
    """Shopify's token endpoint, just enough of it; ``calls`` records (host, grant, body)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict]] = []
        self.expires_in = 3600
        self.refresh_expires_in = 90 * 86400
        self.fail_refresh = False
        self.codes: dict[str, str] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.url = ""

    def issue(self, shop: str, expiring: bool = True) -> dict:
        body = {"access_token": "shpat_" + secrets.token_hex(16), "scope": SCOPES}
        if expiring:
            refresh = "shprt_" + secrets.token_hex(16)
            self.refresh_tokens[refresh] = shop
            body.update(expires_in=self.expires_in, refresh_token=refresh,
                        refresh_token_expires_in=self.refresh_expires_in)
        return body

    def grants(self, name: str) -> list[dict]:
        return [body for _, grant, body in self.calls if grant == name]

    def wsgi(self) -> Flask:
        app = Flask("fake_shopify")

        @app.post("/admin/oauth/access_token")
        def token():
            body = request.get_json(silent=True) or request.form.to_dict()
            shop = request.host.split(":")[0]
            grant = body.get("grant_type") or ("authorization_code" if "code" in body else "?")
            self.calls.append((shop, grant, body))
            if body.get("client_id") != API_KEY or body.get("client_secret") != SECRET:
                return jsonify(error="invalid_client"), 401
            if grant == TOKEN_EXCHANGE:
                try:
                    claims = jwt.decode(body["subject_token"], SECRET, algorithms=["HS256"],
                                        audience=API_KEY)
                except jwt.PyJWTError:
                    return jsonify(error="invalid_subject_token"), 400
                if (urlparse(claims["dest"]).hostname != shop
                        or body.get("subject_token_type") != ID_TOKEN_TYPE
                        or body.get("requested_token_type") != OFFLINE):
                    return jsonify(error="invalid_subject_token"), 400
                return jsonify(self.issue(shop, str(body.get("expiring")) == "1"))
            if grant == "refresh_token":
                if self.fail_refresh or self.refresh_tokens.pop(body.get("refresh_token"),
                                                                None) != shop:
                    return jsonify(error="invalid_grant"), 400
                return jsonify(self.issue(shop))
            if grant == "client_credentials":
                return jsonify(access_token="shpat_cc_" + secrets.token_hex(8), scope=SCOPES,
                               expires_in=self.expires_in)
            if grant == "authorization_code":
                if self.codes.pop(body["code"], None) != shop:
                    return jsonify(error="invalid_request"), 400
                return jsonify(self.issue(shop, body.get("expiring") == "1"))
            return jsonify(error="unsupported_grant_type"), 400

        return app


@pytest.fixture(scope="module")
def server():
    fake = FakeShopify()
    httpd = make_server("127.0.0.1", 0, fake.wsgi(), threaded=True)
    fake.url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield fake
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def fake(server):
    server.calls.clear()
    server.codes.clear()
    server.expires_in, server.fail_refresh = 3600, False
    return server


# --- the app under test -----------------------------------------------------------------

@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "restock.db"


@pytest.fixture
def sessions(db_path):
    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def make_app(sessions, fake, env="test", secret_key=RESTOCK_KEY, **config) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="flask-session-key", SHOPIFY_API_KEY=API_KEY,
                      SHOPIFY_API_SECRET=SECRET, SHOPIFY_SCOPES=SCOPES,
                      SHOPIFY_APP_URL="https://restock.example", SHOPIFY_OAUTH_BASE_URL=fake.url)
    app.config.update(config)
    settings = Settings(env=env, secret_key=secret_key, database_url="sqlite://")
    app.extensions["restock"] = Context(settings=settings, engine=sessions.kw["bind"],
                                        sessions=sessions)
    app.teardown_appcontext(close_session)
    app.register_blueprint(install_bp)
    return app


@pytest.fixture
def installed(sessions, fake):
    """(app, calls of the on_installed hook)."""
    hooked: list[tuple[str, str]] = []
    app = make_app(sessions, fake,
                   SHOPIFY_ON_INSTALLED=lambda shop, token: hooked.append((shop, token)))
    return app, hooked


@pytest.fixture
def oauth(fake):
    return ShopifyOAuth(API_KEY, SECRET, oauth_base_url=fake.url)


@pytest.fixture
def cipher():
    return token_cipher(RESTOCK_KEY, "production")


def id_token(secret=SECRET, **claims) -> str:
    now = int(time.time())
    body = dict(iss=f"https://{SHOP}/admin", dest=f"https://{SHOP}", aud=API_KEY, sub="42",
                exp=now + 60, nbf=now - 5, iat=now - 5, jti=uuid.uuid4().hex, sid="s1")
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret,
                      algorithm="HS256")


def signed(params: dict, secret=SECRET) -> dict:
    """Shopify's redirect HMAC: hex HMAC-SHA256 of the sorted ``k=v`` pairs joined by ``&``."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {**params, "hmac": hmac.new(secret.encode(), message.encode(),
                                       hashlib.sha256).hexdigest()}


def credential(sessions, domain=SHOP) -> ShopCredential | None:
    with sessions() as s:
        shop = shop_for_domain(s, domain)
        return s.scalar(select(ShopCredential).where(ShopCredential.shop_id == shop.id))


def token_now(sessions, oauth, cipher, domain=SHOP) -> str:
    with sessions() as s:
        return access_token(s, shop_for_domain(s, domain), oauth, cipher=cipher)


# --- shop domains and ID tokens ---------------------------------------------------------

@pytest.mark.parametrize("domain, ok", [
    ("a-shop.myshopify.com", True), ("shop1.myshopify.com", True),
    ("evil.com", False), ("shop.myshopify.com.evil.com", False), ("-x.myshopify.com", False),
    ("A-Shop.myshopify.com", False), ("a.myshopify.com/", False), ("a.myshopify.com\n", False),
    ("https://a.myshopify.com", False), ("a_b.myshopify.com", False), ("", False), (None, False),
])
def test_valid_shop_domain(domain, ok):
    assert valid_shop_domain(domain) is ok


def test_verify_id_token_names_shop_and_user():
    verified = verify_id_token(id_token(), API_KEY, SECRET)
    assert (verified.shop_domain, verified.user_id) == (SHOP, "42")
    rotated = verify_id_token(id_token(secret="old-secret-0123456789abcdef0123456789"),
                              API_KEY, SECRET,
                              old_api_secret="old-secret-0123456789abcdef0123456789")
    assert rotated.shop_domain == SHOP


NOW = int(time.time())
BAD_ID_TOKENS = [
    pytest.param("expired", dict(exp=NOW - 120, nbf=NOW - 300, iat=NOW - 300), id="expired"),
    pytest.param("wrong_audience", dict(aud="another-app"), id="wrong-audience"),
    pytest.param("bad_signature", dict(secret="not-the-secret-0123456789abcdef0123456789"),
                 id="wrong-signature"),
    pytest.param("dest_mismatch", dict(dest="https://other-shop.myshopify.com"),
                 id="dest-differs-from-iss"),
    pytest.param("bad_issuer", dict(iss="https://evil.com/admin", dest="https://evil.com"),
                 id="evil.com"),
    pytest.param("bad_issuer", dict(iss="https://shop.myshopify.com.evil.com/admin",
                                    dest="https://shop.myshopify.com.evil.com"),
                 id="myshopify.com.evil.com"),
    pytest.param("missing_claim", dict(sid=None), id="no-sid"),
    pytest.param("not_yet_valid", dict(nbf=NOW + 600), id="not-yet-valid"),
    pytest.param("malformed", dict(raw="not.a.jwt"), id="garbage"),
]


@pytest.mark.parametrize("reason, claims", BAD_ID_TOKENS)
def test_bad_id_tokens_are_refused(installed, fake, reason, claims):
    app, hooked = installed
    claims = dict(claims)
    token = claims.pop("raw", None) or id_token(**claims)
    with pytest.raises(AuthError) as caught:
        verify_id_token(token, API_KEY, SECRET)
    assert caught.value.reason == reason and caught.value.status == 401
    page = app.test_client().get("/app", query_string={"id_token": token})
    assert page.status_code == 401
    assert str(caught.value).split(" (")[0] in html.unescape(page.text)
    fetch = app.test_client().get("/app", headers={"Authorization": f"Bearer {token}"})
    assert fetch.status_code == 401
    assert fetch.json["error"] == reason and fetch.json["message"] == str(caught.value)
    assert fetch.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert fake.calls == [] and hooked == []


def test_app_without_id_token_or_with_foreign_shop_param(installed, fake):
    app, _ = installed
    assert app.test_client().get("/app").status_code == 401
    page = app.test_client().get("/app", query_string={"id_token": id_token(),
                                                       "shop": "other.myshopify.com"})
    assert page.status_code == 401 and "not the shop of the ID token" in page.text
    assert fake.calls == []


# --- embedded app: token exchange, encryption, refresh ----------------------------------

def test_first_visit_exchanges_stores_encrypted_and_returns_token(
        installed, fake, sessions, db_path, oauth, cipher):
    app, hooked = installed
    page = app.test_client().get("/app", query_string={"id_token": id_token(), "host": "x"})
    assert page.status_code == 302 and page.headers["Location"] == f"/?shop={SHOP}"
    [(host, _, body)] = [c for c in fake.calls if c[1] == TOKEN_EXCHANGE]
    assert host == SHOP and str(body["expiring"]) == "1"
    assert body["requested_token_type"] == OFFLINE
    assert body["subject_token_type"] == ID_TOKEN_TYPE
    [(domain, token)] = hooked
    assert domain == SHOP and token.startswith("shpat_")

    cred = credential(sessions)
    assert cred.grant == "token_exchange" and cred.scopes == SCOPES
    assert cred.refresh_token_enc and cred.refresh_token_expires_at
    with sessions() as s:
        raw = s.execute(text("SELECT access_token_enc, refresh_token_enc "
                             "FROM shop_credentials")).one()
    refresh = cipher.decrypt(raw[1])
    assert token.encode() not in raw[0] and refresh.encode() not in raw[1]
    on_disk = b"".join(p.read_bytes() for p in db_path.parent.glob("restock.db*"))
    assert token.encode() not in on_disk and refresh.encode() not in on_disk
    assert token_now(sessions, oauth, cipher) == token

    again = app.test_client().get("/app", headers={"Authorization": f"Bearer {id_token()}"})
    assert again.status_code == 200
    assert again.json == {"shop": SHOP, "name": SHOP, "user_id": "42", "url": f"/?shop={SHOP}"}
    assert len(fake.grants(TOKEN_EXCHANGE)) == 1 and len(hooked) == 1


def test_expiring_token_is_refreshed_before_it_expires(installed, fake, sessions, oauth,
                                                       cipher):
    app, _ = installed
    fake.expires_in = 600  # > 5 minutes: used as it is
    app.test_client().get("/app", query_string={"id_token": id_token()})
    first = token_now(sessions, oauth, cipher)
    assert token_now(sessions, oauth, cipher) == first and fake.grants("refresh_token") == []

    with sessions() as s:  # four minutes left: inside the 5-minute margin
        s.execute(update(ShopCredential).values(
            access_token_expires_at=datetime.now(timezone.utc) + timedelta(minutes=4)))
        s.commit()
    old_refresh = cipher.decrypt(credential(sessions).refresh_token_enc)
    fresh = token_now(sessions, oauth, cipher)
    [call] = fake.grants("refresh_token")
    assert call["refresh_token"] == old_refresh and fresh != first
    cred = credential(sessions)
    new_refresh = cipher.decrypt(cred.refresh_token_enc)
    assert new_refresh != old_refresh and new_refresh in fake.refresh_tokens
    assert old_refresh not in fake.refresh_tokens  # rotated at Shopify and here together
    assert cred.access_token_expires_at.replace(tzinfo=timezone.utc) > \
        datetime.now(timezone.utc) + timedelta(minutes=9)
    assert token_now(sessions, oauth, cipher) == fresh and len(fake.grants("refresh_token")) == 1


def test_refresh_failure_is_a_clear_error(installed, fake, sessions, oauth, cipher):
    app, _ = installed
    fake.expires_in = 60
    app.test_client().get("/app", query_string={"id_token": id_token()})
    before = credential(sessions)
    fake.fail_refresh = True
    with pytest.raises(AuthError) as caught:
        token_now(sessions, oauth, cipher)
    assert caught.value.reason == "invalid_grant" and caught.value.status == 401
    assert "open the app from the Shopify admin" in str(caught.value) and SHOP in str(caught.value)
    assert credential(sessions).access_token_enc == before.access_token_enc

    with sessions() as s:  # a dead refresh token is not even sent
        s.execute(update(ShopCredential).values(
            refresh_token_expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        s.commit()
    calls = len(fake.calls)
    with pytest.raises(AuthError) as caught:
        token_now(sessions, oauth, cipher)
    assert caught.value.reason == "refresh_token_expired" and len(fake.calls) == calls
    with sessions() as s:
        assert not has_usable_credentials(s, shop_for_domain(s, SHOP), cipher)


def test_concurrent_refresh_uses_the_winners_token(installed, fake, sessions, oauth, cipher):
    """Another worker refreshes between our read and our refresh (SQLite has no row locks)."""
    app, _ = installed
    fake.expires_in = 60
    app.test_client().get("/app", query_string={"id_token": id_token()})
    fake.expires_in = 3600

    class Racing:
        """Lets the other worker win, then refreshes (with the now rotated token) itself."""

        def __init__(self, ours):
            self.ours, self.winner = ours, None

        def refresh(self, shop_domain, refresh_token, refresh_token_expires_at=None):
            self.winner = token_now(sessions, oauth, cipher)
            return self.ours(shop_domain, refresh_token, refresh_token_expires_at)

        def client_credentials(self, shop_domain):
            raise AssertionError("not a client-credentials shop")

    rejected = Racing(oauth.refresh)  # Shopify refuses the spent refresh token
    assert token_now(sessions, rejected, cipher) == rejected.winner
    with sessions() as s:
        s.execute(update(ShopCredential).values(
            access_token_expires_at=datetime.now(timezone.utc) + timedelta(seconds=30)))
        s.commit()
    accepted = Racing(lambda *a: TokenResult(access_token="shpat_loser", scope=SCOPES,
                                             expires_at=datetime.now(timezone.utc)
                                             + timedelta(hours=1), refresh_token="shprt_x"))
    assert token_now(sessions, accepted, cipher) == accepted.winner != "shpat_loser"
    assert cipher.decrypt(credential(sessions).access_token_enc) == accepted.winner


def test_unreadable_or_missing_credentials_lead_to_a_new_exchange(installed, fake, sessions,
                                                                 oauth):
    app, hooked = installed
    other_key = token_cipher("another-restock-secret-key-0123456789", "production")
    with sessions() as s:
        shop = shop_for_domain(s, SHOP)
        with pytest.raises(AuthError) as caught:
            access_token(s, shop, oauth, cipher=other_key)
        assert caught.value.reason == "not_installed"
        store_tokens(s, shop, "token_exchange", oauth.client_credentials(SHOP),
                     cipher=other_key)
        s.commit()
    assert app.test_client().get("/app", query_string={"id_token": id_token()}).status_code \
        == 302
    assert len(fake.grants(TOKEN_EXCHANGE)) == 1 and len(hooked) == 1


# --- client credentials -----------------------------------------------------------------

def test_client_credentials_grant_stores_a_token(fake, sessions, oauth, cipher):
    fake.expires_in = 120
    result = oauth.client_credentials(SHOP)
    with sessions() as s:
        store_tokens(s, shop_for_domain(s, SHOP), "client_credentials", result, cipher=cipher)
        s.commit()
    cred = credential(sessions)
    assert cred.grant == "client_credentials" and cred.refresh_token_enc is None
    assert result.access_token.encode() not in cred.access_token_enc
    renewed = token_now(sessions, oauth, cipher)  # 2 minutes left: a new grant, no refresh
    assert renewed != result.access_token and renewed.startswith("shpat_cc_")
    assert len(fake.grants("client_credentials")) == 2 and fake.grants("refresh_token") == []

    with pytest.raises(AuthError) as caught:
        ShopifyOAuth(API_KEY, "wrong-secret", oauth_base_url=fake.url).client_credentials(SHOP)
    assert caught.value.reason == "invalid_client" and "SHOPIFY_API_SECRET" in str(caught.value)


# --- authorization-code install ---------------------------------------------------------

def start_install(client, shop=SHOP) -> str:
    started = client.get("/auth/install", query_string={"shop": shop})
    assert started.status_code == 302
    target = urlparse(started.headers["Location"])
    query = parse_qs(target.query)
    assert target.path == "/admin/oauth/authorize" and query["client_id"] == [API_KEY]
    assert query["scope"] == [SCOPES]
    assert query["redirect_uri"] == ["https://restock.example/auth/callback"]
    return query["state"][0]


def callback_query(fake, state, shop=SHOP, **extra) -> dict:
    code = secrets.token_hex(8)
    fake.codes[code] = shop
    return signed({"code": code, "shop": shop, "state": state, "host": "YWRtaW4",
                   "timestamp": str(int(time.time())), **extra})


def test_authorization_code_install(installed, fake, sessions, oauth, cipher):
    app, hooked = installed
    client = app.test_client()
    state = start_install(client)
    done = client.get("/auth/callback", query_string=callback_query(fake, state))
    assert done.status_code == 302 and done.headers["Location"] == f"/?shop={SHOP}"
    [body] = fake.grants("authorization_code")
    assert body["expiring"] == "1"
    cred = credential(sessions)
    assert cred.grant == "authorization_code" and cred.refresh_token_enc
    [(domain, token)] = hooked
    assert domain == SHOP and token_now(sessions, oauth, cipher) == token
    with sessions() as s:
        assert s.scalar(select(OAuthState.used_at).where(OAuthState.nonce == state))


def test_callback_refusals(installed, fake, sessions):
    app, hooked = installed
    client = app.test_client()

    def get(params):
        return client.get("/auth/callback", query_string=params)

    forged = callback_query(fake, start_install(client))
    forged["code"] = "attacker-code"
    answer = get(forged)
    assert answer.status_code == 401 and "hmac does not match" in answer.text
    unsigned = {k: v for k, v in callback_query(fake, "x").items() if k != "hmac"}
    assert get(unsigned).status_code == 401
    wrong_key = signed({k: v for k, v in unsigned.items()}, secret="not-the-app-secret")
    assert get(wrong_key).status_code == 401

    answer = get(callback_query(fake, "no-such-state"))
    assert answer.status_code == 400 and "state is unknown" in answer.text

    state = start_install(client)
    replay = callback_query(fake, state)
    assert get(replay).status_code == 302
    answer = get(replay)
    assert answer.status_code == 400 and "already used" in answer.text

    state = start_install(client)
    with sessions() as s:
        s.execute(update(OAuthState).where(OAuthState.nonce == state).values(
            created_at=datetime.now(timezone.utc) - timedelta(minutes=11)))
        s.commit()
    answer = get(callback_query(fake, state))
    assert answer.status_code == 400 and "longer than 10 minutes" in answer.text

    state = start_install(client)
    answer = get(callback_query(fake, state, shop="other-shop.myshopify.com"))
    assert answer.status_code == 400 and "another shop" in answer.text

    state = start_install(client)
    stale = callback_query(fake, state, timestamp=str(int(time.time()) - 2 * 86400))
    answer = get(stale)
    assert answer.status_code == 400 and "more than a day old" in answer.text

    state = start_install(client)
    answer = app.test_client().get("/auth/callback", query_string=callback_query(fake, state))
    assert answer.status_code == 400 and "another browser" in answer.text

    for shop in ("evil.com", "shop.myshopify.com.evil.com"):
        answer = get(callback_query(fake, "x", shop=shop))
        assert answer.status_code == 400 and "not a shop domain" in answer.text
        answer = client.get("/auth/install", query_string={"shop": shop})
        assert answer.status_code == 400 and "not a shop domain" in answer.text
    assert client.get("/auth/install").status_code == 400
    assert client.get("/auth/install", query_string=signed(
        {"shop": SHOP, "timestamp": str(int(time.time()))}, secret="forged")).status_code == 401
    assert len(hooked) == 1 and len(fake.grants("authorization_code")) == 1


# --- configuration ----------------------------------------------------------------------

def test_missing_secret_key_outside_demo_is_a_config_error(sessions, fake):
    with pytest.raises(ConfigError, match="RESTOCK_SECRET_KEY"):
        token_cipher(None, "production")
    with pytest.raises(ConfigError, match="RESTOCK_SECRET_KEY"):
        make_app(sessions, fake, env="production", secret_key=None)
    with pytest.raises(ConfigError, match="SHOPIFY_API_KEY"):
        make_app(sessions, fake, SHOPIFY_API_KEY="")
    demo = token_cipher(None, "demo")
    assert demo.decrypt(demo.encrypt("x")) == "x"
