"""A DingTalk custom-robot endpoint on 127.0.0.1, speaking the documented protocol.

``POST /robot/send?access_token=…&timestamp=<ms>&sign=<sign>`` with a JSON message;
the sign is base64(HMAC-SHA256(secret, "<ms>\\n<secret>")), URL-encoded, and the
timestamp must be within an hour of the server's clock. Answers
``{"errcode": 0, "errmsg": "ok"}``, or 310000 for a bad signature, 300001 for an
unknown token, 130101 while ``busy`` is set (sending too fast).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class DingTalkRobot:
    def __init__(self, token: str, secret: str) -> None:
        self.token, self.secret = token, secret
        self.received: list[dict[str, Any]] = []
        self.refused: list[int] = []
        self.busy = 0
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                code = robot.check(query)
                if code == 0 and robot.busy:
                    robot.busy -= 1
                    code = 130101
                if code == 0:
                    robot.received.append(body)
                else:
                    robot.refused.append(code)
                answer = json.dumps({"errcode": code, "errmsg": "ok" if code == 0 else "refused"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def check(self, query: dict[str, list[str]]) -> int:
        if query.get("access_token") != [self.token]:
            return 300001
        try:
            stamp = int(query["timestamp"][0])
            sent = query["sign"][0]
        except (KeyError, ValueError):
            return 310000
        if abs(time.time() * 1000 - stamp) > 3_600_000:
            return 310000
        digest = hmac.new(self.secret.encode(), f"{stamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        return 0 if hmac.compare_digest(base64.b64encode(digest).decode(), sent) else 310000

    @property
    def webhook(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/robot/send?access_token={self.token}"

    def start(self) -> DingTalkRobot:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
