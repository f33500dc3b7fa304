"""A real webhook endpoint for tests: checks signatures, records keys, answers as scripted."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    header_key: str
    body: dict[str, Any]
    signature_ok: bool
    status: int

    @property
    def body_key(self) -> str:
        return str(self.body["idempotency_key"])


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (a free port) in a background thread.

    ``script`` holds the statuses of the next answers (then 200). While ``gate``
    is clear, every request is recorded, sets ``arrived`` and waits for the gate.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.script: deque[int] = deque()
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                signature_ok = hmac.compare_digest(expected, self.headers.get("X-Guanxi-Signature", ""))
                with receiver.lock:
                    status = receiver.script.popleft() if receiver.script else 200
                    if not signature_ok:
                        status = 401
                    receiver.received.append(
                        Received(
                            self.headers.get("Idempotency-Key", ""), json.loads(body), signature_ok, status
                        )
                    )
                    number = len(receiver.received)
                if not receiver.gate.is_set():
                    receiver.arrived.set()
                    receiver.gate.wait(60)
                answer = json.dumps({"id": f"r-{number}"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client died while the request was held

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def keys(self) -> list[str]:
        with self.lock:
            return [item.header_key for item in self.received]

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
