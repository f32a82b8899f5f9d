"""Open-loop HTTP load generator for signed Shopify webhooks, written to cost little CPU.

    .venv/bin/python scripts/webhook_loadgen.py --port 8000 --rate 500 --seconds 30 \\
        --body tests/fixtures/shopify/webhooks/orders_create.example.json --secret SECRET

Why it exists: on a 2-core machine a client built from Python threads and ``requests`` takes
most of a core and the server's tail latency then measures the client. This one runs a
single asyncio loop over raw keep-alive sockets:

* every request is built before the clock starts (the HMAC covers only the body, so one
  signature serves them all; each request differs only in its ``X-Shopify-Event-Id``);
* open loop: request ``i`` is *due* at ``t0 + i / rate`` whatever happened to earlier ones;
  it goes out on an idle connection, or waits in a queue when all are busy (a new connection
  is opened while fewer than ``--max-connections`` exist);
* latency is measured from the due time, not from the moment the request was written, so a
  stalled server cannot hide its backlog (no coordinated omission);
* one request at a time per connection (no pipelining), as Shopify sends them.

The result is one JSON object on stdout: the due/achieved rate, latency percentiles (ms),
status counts, failures (connection errors and timeouts) and the generator's own CPU time
(``cpu_s``; ``cpu_share`` = CPU seconds per wall second, 1.0 = one core).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import uuid
from collections import deque

__all__ = ["build_requests", "run", "main"]


def build_requests(body: bytes, secret: str, *, host: str, port: int, count: int,
                   topic: str = "orders/create", shop: str = "bench.myshopify.com",
                   path: str = "/webhooks/shopify") -> list[bytes]:
    """``count`` serialised HTTP/1.1 requests, each with its own event id."""
    if not body:
        raise ValueError("the request body is empty: pass --body with a JSON payload file")
    sig = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Shopify-Topic: {topic}\r\nX-Shopify-Shop-Domain: {shop}\r\n"
            f"X-Shopify-Hmac-Sha256: {sig}\r\n"
            f"X-Shopify-Triggered-At: 2026-11-22T00:00:00Z\r\n")
    run_id = uuid.uuid4().hex[:12]
    return [(head + f"X-Shopify-Event-Id: lg-{run_id}-{i}\r\n\r\n").encode() + body
            for i in range(count)]


class _Conn(asyncio.Protocol):
    """One keep-alive connection; parses responses with Content-Length bodies."""

    def __init__(self, gen: "_Generator"):
        self.gen = gen
        self.transport = None
        self.buf = b""
        self.current = None  # index of the request in flight
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport

    def send(self, i: int) -> None:
        self.current = i
        self.transport.write(self.gen.requests[i])

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length:]
            status = int(head[9:12])
            keep = b"connection: close" not in head.lower()
            i, self.current = self.current, None
            if i is not None:
                self.gen.done(i, status)
            if not keep:
                self.transport.close()
                return
            self.gen.idle(self)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.gen.lost(self)


class _Generator:
    def __init__(self, requests: list[bytes], rate: float, host: str, port: int,
                 max_connections: int, timeout: float):
        self.requests = requests
        self.rate = rate
        self.host, self.port = host, port
        self.max_connections = max_connections
        self.timeout = timeout
        n = len(requests)
        self.due = [0.0] * n
        self.latency = [None] * n
        self.status = [0] * n
        self.failed = 0
        self.free: deque[_Conn] = deque()
        self.queue: deque[int] = deque()
        self.conns: set[_Conn] = set()
        self.opening = 0
        self.peak = 0
        self.remaining = n

    # -- bookkeeping called by the connections
    def done(self, i: int, status: int) -> None:
        self.latency[i] = time.perf_counter() - self.due[i]
        self.status[i] = status
        self._settle()

    def idle(self, conn: _Conn) -> None:
        if self.queue:
            conn.send(self.queue.popleft())
        else:
            self.free.append(conn)

    def lost(self, conn: _Conn) -> None:
        self.conns.discard(conn)
        try:
            self.free.remove(conn)
        except ValueError:
            pass
        if conn.current is not None:  # the server dropped a request: a failure
            self.failed += 1
            self._settle()

    def _settle(self) -> None:
        self.remaining -= 1

    # -- sending
    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self.opening += 1
        try:
            _, conn = await loop.create_connection(lambda: _Conn(self), self.host, self.port)
        except OSError:
            self.opening -= 1
            if self.queue:  # could not connect: that request fails
                self.queue.popleft()
                self.failed += 1
                self._settle()
            return
        self.opening -= 1
        self.conns.add(conn)
        self.peak = max(self.peak, len(self.conns))
        self.idle(conn)

    def _dispatch(self, i: int) -> None:
        while self.free:
            conn = self.free.popleft()
            if not conn.closed:
                conn.send(i)
                return
        self.queue.append(i)
        if len(self.conns) + self.opening < self.max_connections:
            asyncio.ensure_future(self._open())

    async def run(self, connections: int) -> float:
        await asyncio.gather(*(self._open() for _ in range(connections)))
        if not self.conns:
            raise ConnectionError(f"cannot connect to {self.host}:{self.port}: is the server "
                                  "running?")
        t0 = time.perf_counter() + 0.05
        for i in range(len(self.requests)):
            self.due[i] = t0 + i / self.rate
        i, n = 0, len(self.requests)
        while i < n:
            now = time.perf_counter()
            while i < n and self.due[i] <= now:
                self._dispatch(i)
                i += 1
            if i < n:
                await asyncio.sleep(max(0.0, self.due[i] - time.perf_counter()))
        sent_by = time.perf_counter()
        while self.remaining > 0 and time.perf_counter() - sent_by < self.timeout:
            await asyncio.sleep(0.02)
        for conn in list(self.conns):
            conn.transport.close()
        return sent_by - t0


def _run_loop(coro):
    """``asyncio.run(coro)`` on a thread of its own: the caller may already run an event loop
    (Playwright's sync API keeps one running in the main thread, for instance), and
    asyncio.run refuses to start inside one."""
    out: dict = {}

    def target():
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as exc:  # handed back to the caller
            out["error"] = exc

    t = threading.Thread(target=target, name="webhook-loadgen")
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def run(requests: list[bytes], *, rate: float, host: str = "127.0.0.1", port: int,
        connections: int = 16, max_connections: int = 256, timeout: float = 30.0) -> dict:
    """Send ``requests`` open-loop at ``rate`` per second; return the summary dict."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    if connections < 1 or max_connections < connections:
        raise ValueError("need 1 <= connections <= max_connections")
    gen = _Generator(requests, rate, host, port, max_connections, timeout)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    send_window = _run_loop(gen.run(connections))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    lat = sorted(x for x in gen.latency if x is not None)
    answered = len(lat)
    statuses: dict[str, int] = {}
    for s in gen.status:
        if s:
            statuses[str(s)] = statuses.get(str(s), 0) + 1

    def pct(q: float) -> float | None:
        if not lat:
            return None
        return round(lat[min(len(lat) - 1, int(q / 100 * len(lat)))] * 1000, 2)

    return {"requests": len(requests), "rate_target": rate,
            "rate_achieved": round(len(requests) / send_window, 1) if send_window > 0 else None,
            "answered": answered, "failed": gen.failed,
            "unanswered": len(requests) - answered - gen.failed, "status": statuses,
            "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
            "max_ms": round(lat[-1] * 1000, 2) if lat else None,
            "connections_peak": gen.peak,
            "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
            "cpu_share": round(cpu / wall, 3) if wall else None,
            "event_id_prefix": requests[0].split(b"X-Shopify-Event-Id: ")[1].split(b"\r\n")[0]
            .decode().rsplit("-", 1)[0] + "-"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, default=500.0, help="requests per second (open loop)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--body", required=True, help="file holding the JSON payload to send")
    ap.add_argument("--secret", required=True, help="the app secret that signs the body")
    ap.add_argument("--topic", default="orders/create")
    ap.add_argument("--connections", type=int, default=16, help="connections opened up front")
    ap.add_argument("--max-connections", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds to wait for the last answers after the last send")
    args = ap.parse_args(argv)
    if args.seconds <= 0:
        ap.error(f"--seconds must be positive, got {args.seconds}")
    try:
        with open(args.body, "rb") as f:
            body = f.read()
        count = max(1, int(round(args.rate * args.seconds)))
        reqs = build_requests(body, args.secret, host=args.host, port=args.port, count=count,
                              topic=args.topic)
        summary = run(reqs, rate=args.rate, host=args.host, port=args.port,
                      connections=args.connections, max_connections=args.max_connections,
                      timeout=args.timeout)
    except (OSError, ValueError) as exc:
        print(f"webhook_loadgen: error: {exc}", file=sys.stderr)
        return 2
    json.dump(summary, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
