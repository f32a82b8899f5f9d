"""Serve a WSGI app (the Shopify fake) on 127.0.0.1 in a background thread."""
from __future__ import annotations

import threading
from typing import Callable

from werkzeug.serving import WSGIRequestHandler, make_server

__all__ = ["serve_fake"]


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not log every request to stderr."""

    def log_request(self, *args, **kwargs) -> None:
        pass


def serve_fake(app, host: str = "127.0.0.1", port: int = 0) -> tuple[str, Callable[[], None]]:
    """Start ``app`` on ``host`` (a free port when ``port`` is 0) in a daemon thread.

    Args:
        app: A WSGI app, normally from :func:`sandbox.shopify_fake.make_fake_app`.
        host: Interface to bind; loopback by default.
        port: Port; 0 picks a free one.

    Returns:
        ``(base_url, stop)``: e.g. ``http://127.0.0.1:54321`` (pass it to
        ``AdminClient(admin_url=...)``) and a function that stops the server.
    """
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True, name=f"shopify-fake-{server.server_port}")
    thread.start()
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{server.server_port}", stop
