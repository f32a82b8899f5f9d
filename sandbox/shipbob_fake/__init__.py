"""A ShipBob REST API 2026-01 fake for tests and the demo, served on loopback.

It implements what restock's client uses (inventory levels, totals and per fulfillment
center; fulfillment centers; receiving orders: list, create, get), checks every request
against the same OpenAPI description the client uses and validates its own answers.

Example::

    fake = ShipBobFake(token="t")
    fake.state.add_fulfillment_center(10, "Chicago (IL)")
    fake.state.add_inventory(501, "SKU-1", 10, on_hand=40, committed=5)
    server = serve(fake)
    try:
        ...  # ShipBobClient(server.url, "t")
        fake.state.receive(wro_id, {"SKU-1": 12})
    finally:
        server.stop()

Fault knobs are on ``fake.faults`` (:class:`~.state.Faults`): ``error_rate``, ``throttle()``,
``lose_response()``, ``corrupt_response()``.
"""
from __future__ import annotations

import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from connector.adapters.shipbob.openapi import OpenAPIDescription, load_description

from .app import create_app
from .state import FakeRejection, Faults, ShipBobState

__all__ = ["FakeRejection", "FakeServer", "Faults", "ShipBobFake", "ShipBobState", "serve"]


class ShipBobFake:
    """State, fault knobs and what happened, for one fake ShipBob account.

    Args:
        token: The bearer token the fake accepts.
        description: The OpenAPI description; the packaged one by default.

    Attributes:
        state: :class:`ShipBobState` (ground truth and test hooks).
        faults: :class:`Faults`.
        log: ``(method, path_template, status)`` per answered request.
        rejected: The :class:`SchemaViolation` of every request refused with 400.
        internal_errors: Answers of the fake's own that failed validation (must stay empty).
    """

    def __init__(self, token: str = "test-token",
                 description: OpenAPIDescription | None = None) -> None:
        self.token = token
        self.description = description or load_description()
        self.state = ShipBobState()
        self.faults = Faults()
        self.log: list[tuple[str, str, int]] = []
        self.rejected: list = []
        self.internal_errors: list[str] = []

    def app(self):
        """A Flask app answering for this fake."""
        return create_app(self)

    def calls(self, method: str, template: str) -> list[int]:
        """Statuses answered so far to ``method template``."""
        return [s for m, t, s in self.log if m == method and t == template]


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not print an access log line per request."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class FakeServer:
    """A fake served by werkzeug in a daemon thread; :meth:`stop` shuts it down."""

    def __init__(self, fake: ShipBobFake, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self._server = make_server(host, port, fake.app(), threaded=True,
                                   request_handler=_QuietHandler)
        self.host, self.port = host, self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=f"shipbob-fake:{self.port}", daemon=True)

    def start(self) -> "FakeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()


def serve(fake: ShipBobFake | None = None, host: str = "127.0.0.1",
          port: int = 0) -> FakeServer:
    """Start serving ``fake`` (a new one if None) on a free loopback port."""
    return FakeServer(fake or ShipBobFake(), host, port).start()
