"""Fixtures of the browser tests: a planned demo shop, the web app served by waitress, a
supplier endpoint that receives purchase orders, and headless Chromium driven by Playwright.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``scripts/ensure_chromium.sh``),
never a Playwright download. When it or the ``playwright`` package is missing, every test
here is skipped with the reason.
"""
from __future__ import annotations

import importlib.util
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: Screenshots of each step, kept as test artefacts (not committed).
ARTIFACTS = Path(__file__).parent / "artifacts"
SHOP = "e2e"
SUPPLIER_SECRET = "s"


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: drives the web app in headless Chromium "
                            "(skipped when /usr/bin/chromium or playwright is missing)")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh as root (Debian's "
                "chromium package) to run the browser tests")
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -e '.[test]'"
    return None


@pytest.fixture(scope="session")
def browser_available() -> None:
    reason = missing_browser()
    if reason:
        pytest.skip(f"skipped: {reason}")


# --- the supplier's endpoint ---------------------------------------------------------------

@dataclass
class Delivery:
    path: str
    headers: dict
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP endpoint standing in for a supplier's order system."""

    url: str
    secret: str = SUPPLIER_SECRET  # the suppliers' HTTP signing secret
    deliveries: list[Delivery] = field(default_factory=list)


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.deliveries.append(Delivery(self.path, dict(self.headers), body))
            reply = json.dumps({"id": f"SUP-{len(receiver.deliveries)}"}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):  # keep the test output quiet
            pass

    return Handler


@pytest.fixture(scope="session")
def supplier_endpoint(browser_available):
    """The suppliers' order endpoint on 127.0.0.1 (a free port), in a background thread;
    ``.deliveries`` lists what it received."""
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/po"
    thread = threading.Thread(target=server.serve_forever, name="e2e-supplier", daemon=True)
    thread.start()
    with pytest.MonkeyPatch.context() as mp:
        for var in ("NO_PROXY", "no_proxy"):  # a proxy in the environment must not catch it
            mp.setenv(var, ",".join(filter(None, [os.environ.get(var), "127.0.0.1",
                                                  "localhost"])))
        yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# --- the demo shop and the app -------------------------------------------------------------

@dataclass
class DemoShop:
    ctx: object  # connector.context.Context
    name: str
    shop_id: int
    run_id: int
    data_cutoff: date


@pytest.fixture(scope="session")
def demo_shop(browser_available, supplier_endpoint, tmp_path_factory) -> DemoShop:
    """A sandbox shop in a fresh SQLite database, planned once, with every supplier taking
    purchase orders over HTTP at :func:`supplier_endpoint`."""
    from sqlalchemy import select

    from connector.config import Settings
    from connector.context import build_context
    from core.plan import run_plan
    from core.storage import Supplier, session_scope
    from sandbox.load import load_sandbox

    db_file = tmp_path_factory.mktemp("e2e-db") / "restock.db"
    ctx = build_context(Settings(database_url=f"sqlite:///{db_file}", env="demo"))
    with session_scope(ctx.sessions) as s:
        shop, _counts = load_sandbox(s, SHOP, seed=5, n_skus=20, n_customers=400, n_days=200,
                                     n_locations=1)
        for supplier in s.scalars(select(Supplier).where(Supplier.shop_id == shop.id)):
            supplier.delivery = {"method": "http", "url": supplier_endpoint.url,
                                 "secret": SUPPLIER_SECRET, "timeout": 5}
        run = run_plan(s, shop)
        demo = DemoShop(ctx=ctx, name=shop.name, shop_id=shop.id, run_id=run.id,
                        data_cutoff=run.data_cutoff)
    yield demo
    ctx.engine.dispose()


@pytest.fixture(scope="session")
def app_url(demo_shop) -> str:
    """The web app, served by waitress on 127.0.0.1 (a free port) in a background thread."""
    from waitress import create_server

    from connector.app import create_app
    from connector.delivery import DeliverySettings

    app = create_app(config={"RESTOCK_DELIVERY": DeliverySettings(timeout=5.0)},
                     context=demo_shop.ctx)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="e2e-waitress", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()  # the listening socket: the loop thread is a daemon and ends with pytest
    server.task_dispatcher.shutdown()
    thread.join(timeout=2)


# --- the browser ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_context(browser_available, app_url, tmp_path_factory):
    """Debian's Chromium, headless, with a fresh profile (user-data-dir). It needs the app
    so that it closes first: its keep-alive connections would hold waitress's loop open."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900}, locale="en-US", timezone_id="UTC")
        context.set_default_timeout(15_000)
        context.set_default_navigation_timeout(20_000)
        yield context
        context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    yield page
    page.close()


@pytest.fixture
def shoot(request):
    """``shoot(page, "step")`` saves a full-page screenshot as
    ``tests/e2e/artifacts/<test>-NN-step.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def take(page, step: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{next(counter):02d}-{step}.png"
        page.evaluate("window.scrollTo(0, 0)")  # sticky bars stay at the top of the picture
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
