"""Real local HTTP servers speaking SMS providers' protocols, for the SMS channel tests.

Each is a ThreadingHTTPServer on 127.0.0.1 (a free port) in a background
thread; it records every request and answers as scripted. While ``gate`` is
clear a request is recorded, sets ``arrived`` and waits for the gate (how a
test makes the client time out without sleeping).

* :class:`ProviderServer` — a generic HTTP SMS provider: answers the scripted
  ``(status, body)`` pairs, then ``200 {"code": "0", "msgid": "m-<n>"}``.
* :class:`AliyunServer` — Aliyun dysmsapi ``SendSms`` 2017-05-25: checks the
  common and SendSms parameters, the timestamp (15 minutes), that no
  ``SignatureNonce`` is used twice, and the HMAC-SHA1 signature (computed here
  independently, from Aliyun's documented algorithm); then answers the scripted
  error codes, then ``{"Code": "OK", "BizId": …}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))


class LocalServer:
    """The shared machinery: bind, serve in a thread, record, hold at the gate."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Recorded] = []
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with server.lock:
                    server.received.append(recorded)
                    status, document = server.answer(recorded, len(server.received))
                if not server.gate.is_set():
                    server.arrived.set()
                    server.gate.wait(60)
                answer = json.dumps(document, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json;charset=utf-8")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up while the request was held

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # a short poll interval: shutdown() returns within it, so a test's teardown takes milliseconds
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)

    def answer(self, request: Recorded, number: int) -> tuple[int, Any]:
        """Status and JSON document for the ``number``-th request (called under the lock)."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


class ProviderServer(LocalServer):
    """A generic SMS provider at ``/sms/send``."""

    def __init__(self) -> None:
        super().__init__()
        self.script: deque[tuple[int, Any]] = deque()

    @property
    def url(self) -> str:
        return self.base_url + "/sms/send"

    def answer(self, request: Recorded, number: int) -> tuple[int, Any]:
        if self.script:
            return self.script.popleft()
        return 200, {"code": "0", "msgid": f"m-{number}"}


def documented_signature(secret: str, method: str, params: dict[str, str]) -> str:
    """Aliyun's RPC signature, written from the documentation independently of the channel."""

    def encode(text: str) -> str:  # java.net.URLEncoder, then the three POP replacements
        return quote(text, safe="*").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")

    canonical = "&".join(f"{encode(k)}={encode(params[k])}" for k in sorted(params) if k != "Signature")
    to_sign = f"{method}&{encode('/')}&{encode(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


@dataclass
class AliyunCall:
    params: dict[str, str]
    code: str
    status: int


class AliyunServer(LocalServer):
    """Aliyun dysmsapi at ``/``: verifies what Aliyun verifies, answers like Aliyun."""

    def __init__(self, access_key_id: str, access_key_secret: str) -> None:
        super().__init__()
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.script: deque[tuple[str, int]] = deque()
        """Aliyun codes and HTTP statuses of the next answers to valid requests."""
        self.calls: list[AliyunCall] = []
        self.nonces: set[str] = set()

    @property
    def url(self) -> str:
        return self.base_url

    def answer(self, request: Recorded, number: int) -> tuple[int, Any]:
        params = {**request.query, **(request.form() if request.body else {})}
        code, status = self._check(request, params)
        if code == "OK" and self.script:
            code, status = self.script.popleft()
        self.calls.append(AliyunCall(params, code, status))
        request_id = f"F655A8D5-B967-440B-8683-{number:012d}"
        if code == "OK":
            return 200, {
                "Code": "OK",
                "Message": "OK",
                "BizId": f"9006197469364984{number:02d}^0",
                "RequestId": request_id,
            }
        return status, {"Code": code, "Message": f"scripted or detected: {code}", "RequestId": request_id}

    def accepted(self) -> list[dict[str, str]]:
        """The parameters of every request answered OK."""
        with self.lock:
            return [call.params for call in self.calls if call.code == "OK"]

    def _check(self, request: Recorded, params: dict[str, str]) -> tuple[str, int]:
        if request.path != "/" or request.method not in {"GET", "POST"}:
            return "InvalidAction.NotFound", 404
        for name in (
            "AccessKeyId",
            "Action",
            "Format",
            "RegionId",
            "Signature",
            "SignatureMethod",
            "SignatureNonce",
            "SignatureVersion",
            "Timestamp",
            "Version",
        ):
            if not params.get(name):
                return f"Missing{name}", 400
        if params["Action"] != "SendSms":
            return "InvalidAction.NotFound", 404
        if params["Version"] != "2017-05-25":
            return "InvalidVersion", 400
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return "InvalidSignatureMethod", 400
        if params["Format"] not in {"JSON", "XML"}:
            return "InvalidParameter.Format", 400
        if params["AccessKeyId"] != self.access_key_id:
            return "InvalidAccessKeyId.NotFound", 404
        try:
            stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return "InvalidTimeStamp.Format", 400
        if abs(datetime.now(UTC) - stamp) > timedelta(minutes=15):
            return "InvalidTimeStamp.Expired", 400
        if params["SignatureNonce"] in self.nonces:
            return "SignatureNonceUsed", 400
        self.nonces.add(params["SignatureNonce"])
        expected = documented_signature(self.access_key_secret, request.method, params)
        if not hmac.compare_digest(expected, params["Signature"]):
            return "SignatureDoesNotMatch", 400
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return f"Missing{name}", 400
        numbers = params["PhoneNumbers"].split(",")
        if not all(re.fullmatch(r"1\d{10}|[2-9]\d{6,14}", number) for number in numbers):
            return "isv.MOBILE_NUMBER_ILLEGAL", 200
        if "TemplateParam" in params:
            try:
                template_param = json.loads(params["TemplateParam"])
            except ValueError:
                return "isv.INVALID_JSON_PARAM", 200
            if not isinstance(template_param, dict) or not all(
                isinstance(v, str) for v in template_param.values()
            ):
                return "isv.INVALID_JSON_PARAM", 200
        if len(params.get("OutId", "")) >= 256:
            return "isv.INVALID_PARAMETERS", 200
        return "OK", 200
