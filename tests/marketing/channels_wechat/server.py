"""A local WeChat API for tests: stable_token, template send and subscription-notice send.

It speaks the protocol the channel relies on: ``POST /cgi-bin/stable_token``
checks the appid and secret and, like WeChat's normal mode, answers the current
token while it is valid and a new one otherwise; each send checks its
``access_token`` (40001 when unknown or invalidated), checks the body's shape
(47001 when malformed) and answers ``{"errcode": 0, "msgid": …}``. Tests script
it through :meth:`WechatServer.invalidate`, ``unfollowed`` openids (43004),
``errcodes`` (answered to the next sends, in order) and ``statuses`` (HTTP
statuses of the next sends).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SEND_PATHS = ("/cgi-bin/message/template/send", "/cgi-bin/message/subscribe/bizsend")


@dataclass(frozen=True)
class Sent:
    path: str
    token: str
    body: dict[str, Any]
    errcode: int


class WechatServer:
    """The fake WeChat API on 127.0.0.1 (a free port), served from a background thread."""

    def __init__(self, appid: str, secret: str, *, expires_in: int = 7200) -> None:
        self.appid = appid
        self.secret = secret
        self.expires_in = expires_in
        self.lock = threading.Lock()
        self.current: str | None = None
        self.issued: list[str] = []
        self.token_requests: list[dict[str, Any]] = []
        self.sent: list[Sent] = []
        self.unfollowed: set[str] = set()
        self.errcodes: deque[int] = deque()
        self.statuses: deque[int] = deque()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                url = urlsplit(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                if url.path == "/cgi-bin/stable_token":
                    self.answer(200, server.token(body))
                elif url.path in SEND_PATHS:
                    token = parse_qs(url.query).get("access_token", [""])[0]
                    status, document = server.send(url.path, token, body)
                    self.answer(status, document)
                else:
                    self.answer(404, {"errcode": 404, "errmsg": "not found"})

            def answer(self, status: int, document: dict[str, Any]) -> None:
                data = json.dumps(document, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; encoding=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def api_base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def token(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.token_requests.append(body)
            if body.get("grant_type") != "client_credential" or body.get("appid") != self.appid:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if body.get("secret") != self.secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            if self.current is None or body.get("force_refresh") is True:
                self.current = f"TOKEN-{len(self.issued) + 1}-a8f3c9"
                self.issued.append(self.current)
            return {"access_token": self.current, "expires_in": self.expires_in}

    def invalidate(self) -> None:
        """The current token stops working (another party force-refreshed it); the next fetch gets a new one."""
        with self.lock:
            self.current = None

    def send(self, path: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.statuses:
                return self.statuses.popleft(), {"errcode": -1, "errmsg": "system error"}
            if token != self.current:
                errcode = 40001
            elif self.errcodes:
                errcode = self.errcodes.popleft()
            elif not well_formed(body):
                errcode = 47001
            elif body["touser"] in self.unfollowed:
                errcode = 43004
            else:
                errcode = 0
            self.sent.append(Sent(path, token, body, errcode))
            if errcode:
                return 200, {"errcode": errcode, "errmsg": f"scripted error rid: {len(self.sent)}"}
            answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
            if path.endswith("/template/send"):
                answer["msgid"] = 200228332 + len(self.sent)
            return 200, answer

    def delivered(self) -> list[Sent]:
        with self.lock:
            return [item for item in self.sent if item.errcode == 0]

    def start(self) -> WechatServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def well_formed(body: dict[str, Any]) -> bool:
    data = body.get("data")
    return (
        isinstance(body.get("touser"), str)
        and isinstance(body.get("template_id"), str)
        and isinstance(data, dict)
        and all(isinstance(item, dict) and isinstance(item.get("value"), str) for item in data.values())
    )
