"""A fault-injecting HTTP relay for tests: loopback only, bounded, stops by itself.

    relay = Relay(upstream="http://127.0.0.1:8080", schedule=["429:0.7", "pass"])
    with relay:
        ...  # point the client at relay.url + "/v1"

Each incoming request takes the next action of ``schedule`` (then ``default``):

    pass             forward to the upstream server and return its answer
    delay:S          wait S seconds, then forward
    429[:S]          answer 429, with ``Retry-After: S`` when S is given
    500, 503[:S]     answer that status (503 may carry Retry-After too)
    401              answer 401
    hang             send nothing and hold the connection open (until ``hang_s`` or stop)
    drop             close the connection without answering
    malformed        forward, then return 200 with a truncated JSON body
    strip_logprobs   forward, then delete ``logprobs`` from every choice

Error bodies echo the request's Authorization header, as careless providers
and gateways do, so that tests see whether a key leaks from error text.
The relay records every request (``log``) and the highest number of requests
in flight at once (``max_in_flight``). It refuses a non-loopback upstream,
serves at most ``max_requests`` requests and shuts down after ``lifetime_s``.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Seen:
    """One request as the relay saw it."""

    t: float
    path: str
    action: str
    body: dict = field(default_factory=dict)
    authorization: str | None = None


class Relay:
    def __init__(self, *, upstream: str, schedule: list[str] | None = None, default: str = "pass",
                 hang_s: float = 5.0, max_requests: int = 200, lifetime_s: float = 120.0):
        parts = urlsplit(upstream)
        if parts.hostname not in LOOPBACK:
            raise ValueError(f"the relay only forwards to loopback, got {upstream!r}")
        self.upstream = (parts.hostname, parts.port or 80)
        self.schedule = list(schedule or [])
        self.default = default
        self.hang_s = hang_s
        self.max_requests = max_requests
        self.lifetime_s = lifetime_s
        self.log: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Relay":
        relay = self

        class Handler(_Handler):
            pass

        Handler.relay = relay
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="relay", daemon=True).start()
        self._watchdog = threading.Timer(self.lifetime_s, self.stop)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._watchdog.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "Relay":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ bookkeeping

    def _next_action(self) -> str:
        with self._lock:
            if len(self.log) >= self.max_requests:
                return "drop"
            return self.schedule.pop(0) if self.schedule else self.default

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def forward(self, method: str, path: str, body: bytes, headers: dict) -> tuple[int, bytes, str]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read(), resp.getheader("Content-Type", "application/json")
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    relay: Relay
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        self._handle(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _handle(self, body: bytes) -> None:
        relay = self.relay
        action = relay._next_action()
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            parsed = {}
        with relay._lock:
            relay.log.append(Seen(time.monotonic(), self.path, action, parsed, self.headers.get("Authorization")))
        relay._enter()
        try:
            self._act(action, body)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        finally:
            relay._leave()

    def _act(self, action: str, body: bytes) -> None:
        relay = self.relay
        name, _, arg = action.partition(":")
        if name == "delay":
            relay._stop.wait(float(arg))
            name = "pass"
        if name in {"pass", "malformed", "strip_logprobs"}:
            headers = {k: v for k, v in self.headers.items() if k.lower() in {"content-type", "authorization"}}
            status, payload, ctype = relay.forward(self.command, self.path, body, headers)
            if name == "malformed":
                payload = payload[: max(1, len(payload) // 2)]
            elif name == "strip_logprobs" and status == 200:
                data = json.loads(payload)
                for choice in data.get("choices", []):
                    choice.pop("logprobs", None)
                payload = json.dumps(data).encode()
            self._send(status, payload, ctype)
        elif name in {"401", "429", "500", "503"}:
            extra = {"Retry-After": arg} if arg else {}
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            message = {"401": f"Incorrect API key provided: {key}", "429": f"rate limit reached for key {key}",
                       "500": f"internal error (request with {self.headers.get('Authorization')})",
                       "503": f"overloaded, key {key}"}[name]
            self._send(int(name), json.dumps({"error": {"message": message, "type": "relay", "code": name}}).encode(),
                       "application/json", extra)
        elif name == "hang":
            relay._stop.wait(relay.hang_s)
            self.close_connection = True
        elif name == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            raise ValueError(f"unknown relay action {action!r}")

    def _send(self, status: int, payload: bytes, ctype: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)
