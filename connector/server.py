"""The production web server: waitress, tuned for the webhook load, pre-forked on PostgreSQL.

One waitress process serves SQLite: its inbox has a single writer (the group commit of
:mod:`webhooks.inbox_writer`, one fsync per batch), and a second process would only fight it
for SQLite's write lock (whose busy handler sleeps 1, 2, 5 ... ms), which lengthens the tail.
PostgreSQL takes concurrent writers, so there the parent binds the socket once and forks one
waitress process per core (up to four), each with its own GIL and its own inbox writer; the
kernel hands each new connection to one of them. Measured on a 2-core machine at 500
webhooks/s: SQLite p99 42 ms with one process, 165 ms with two; PostgreSQL p99 1000 ms with
one process, 69 ms with two (``benchmarks/bench_webhooks.py`` prints the current figures).

Threads: a webhook request waits for its batch to commit, so the threads of a process must
outnumber rate x commit time (16 covers 500/s at 30 ms). A 1 ms GIL switch interval (default
5 ms) lets a thread whose I/O has finished run sooner. Shopify opens many connections:
``poll()`` instead of ``select()`` (no 1024-descriptor cap) and a limit of 500 open
connections, above which waitress stops accepting until one closes.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import sys

__all__ = ["serve_app", "default_workers", "WAITRESS_OPTIONS"]

log = logging.getLogger(__name__)

WAITRESS_OPTIONS = {"threads": 16, "connection_limit": 500, "asyncore_use_poll": True}


def default_workers(engine) -> int:
    """Processes to run: 1 on SQLite, one per core (at most 4) on PostgreSQL."""
    if engine.dialect.name != "postgresql" or not hasattr(os, "fork"):
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def serve_app(app, engine, host: str, port: int, workers: int | None = None) -> int:
    """Serve ``app`` on ``host:port`` until stopped; returns the exit status.

    Args:
        app: the WSGI application.
        engine: its database engine (decides the number of processes; disposed before a
            fork so no pooled connection is shared between processes).
        workers: processes to run; ``None`` for :func:`default_workers`.
    """
    from waitress import serve

    workers = default_workers(engine) if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    sys.setswitchinterval(0.001)
    if workers == 1:
        serve(app, host=host, port=port, **WAITRESS_OPTIONS)
        return 0
    sock = socket.create_server((host, port), backlog=1024)
    sock.setblocking(False)
    engine.dispose()
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: serve the shared socket until SIGTERM/SIGINT
            status = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                serve(app, sockets=[sock], **WAITRESS_OPTIONS)
            except KeyboardInterrupt:
                pass
            except BaseException:
                log.exception("web worker %d failed", os.getpid())
                status = 1
            finally:
                os._exit(status)
        children.append(pid)
    sock.close()
    return _supervise(children)


def _supervise(children: list[int]) -> int:
    """Wait for the workers; SIGTERM/SIGINT or the death of one stops them all."""
    stopping = []

    def stop(*_args) -> None:
        stopping.append(True)
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {sig: signal.signal(sig, lambda *a: stop()) for sig in (signal.SIGTERM,
                                                                       signal.SIGINT)}
    status = 0
    try:
        remaining = set(children)
        while remaining:
            try:
                pid, code = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            remaining.discard(pid)
            if remaining and code and not stopping:
                log.error("web worker %d exited with %d; stopping the others", pid, code)
                status = 1
                stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
