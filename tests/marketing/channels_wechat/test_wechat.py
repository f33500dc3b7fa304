"""The WeChat Official Account channel against a local server speaking WeChat's protocol."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from guanxi.errors import ConfigError
from guanxi.marketing.channels import Envelope
from guanxi.marketing.channels.wechat import WechatChannel, WechatSettings, client_msg_id
from guanxi.marketing.errors import PermanentDeliveryError, TransientDeliveryError
from tests.marketing.channels_wechat.server import WechatServer

APPID = "wx5f3c0a1b2c3d4e5f"
SECRET = "appsecret-3b9e7d1f-never-shown"  # noqa: S105 - a test secret
OPENID = "oS-u15oz9-BJ5TaiO_qFHA2rtBx8"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[WechatServer]:
    running = WechatServer(APPID, SECRET, expires_in=7200).start()
    yield running
    running.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def channel(server: WechatServer, clock: FakeClock) -> Iterator[WechatChannel]:
    built = WechatChannel(APPID, SECRET, api_base=server.api_base, timeout=5.0, clock=clock)
    yield built
    built.close()


def template(key: str = "journey:care:c42:1", recipient: str = OPENID, **extra: Any) -> Envelope:
    spec: dict[str, Any] = {
        "kind": "template",
        "template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
        "data": {"thing1": "王芳", "amount2": "39.80元", "time3": "2024年5月14日 10:12"},
        **extra,
    }
    return Envelope("wechat", recipient, "", "", key, payload={"wechat": spec})


def test_a_template_message_is_sent_in_wechats_shape_and_returns_the_msgid(
    server: WechatServer, channel: WechatChannel
) -> None:
    provider_id = channel.send(
        template(
            url="https://haodian.example/orders/42",
            miniprogram={"appid": "wxminiapp123", "pagepath": "pages/order?id=42"},
        )
    )

    [sent] = server.delivered()
    assert sent.path == "/cgi-bin/message/template/send"
    assert sent.body == {
        "touser": OPENID,
        "template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
        "data": {
            "thing1": {"value": "王芳"},
            "amount2": {"value": "39.80元"},
            "time3": {"value": "2024年5月14日 10:12"},
        },
        "url": "https://haodian.example/orders/42",
        "miniprogram": {"appid": "wxminiapp123", "pagepath": "pages/order?id=42"},
        "client_msg_id": client_msg_id("journey:care:c42:1"),
    }
    assert provider_id == "200228333"


def test_the_same_idempotency_key_gives_the_same_client_msg_id() -> None:
    assert client_msg_id("k-1") == client_msg_id("k-1") != client_msg_id("k-2")
    assert len(client_msg_id("journey:" + "x" * 500)) == 32


def test_a_subscribe_notice_goes_to_bizsend_with_its_page(
    server: WechatServer, channel: WechatChannel
) -> None:
    spec = {"kind": "subscribe", "template_id": "VRR0UEO9VJOLs0MHlU0O", "page": "https://haodian.example/p",
            "data": {"thing1": "发货通知"}}  # fmt: skip
    provider_id = channel.send(Envelope("wechat", OPENID, "", "", "k-sub", payload={"wechat": spec}))

    [sent] = server.delivered()
    assert sent.path == "/cgi-bin/message/subscribe/bizsend"
    assert sent.body == {
        "touser": OPENID,
        "template_id": "VRR0UEO9VJOLs0MHlU0O",
        "data": {"thing1": {"value": "发货通知"}},
        "page": "https://haodian.example/p",
    }
    assert provider_id == "k-sub"


def test_the_token_is_fetched_once_for_many_sends(server: WechatServer, channel: WechatChannel) -> None:
    for number in range(5):
        channel.send(template(key=f"k-{number}"))

    assert len(server.token_requests) == 1
    assert server.token_requests[0] == {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    assert {sent.token for sent in server.delivered()} == {server.issued[0]}


def test_concurrent_sends_share_one_token_fetch(server: WechatServer, channel: WechatChannel) -> None:
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def send(number: int) -> None:
        start.wait()
        try:
            channel.send(template(key=f"k-{number}"))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=send, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(server.token_requests) == 1
    assert len(server.delivered()) == 8


def test_a_token_near_its_expiry_is_fetched_again(
    server: WechatServer, channel: WechatChannel, clock: FakeClock
) -> None:
    channel.send(template(key="k-1"))
    clock.now += 7200 - 300 - 1  # just inside the 300 s refresh margin: still cached
    channel.send(template(key="k-2"))
    assert len(server.token_requests) == 1

    clock.now += 1
    server.invalidate()  # WeChat has rotated it by now
    channel.send(template(key="k-3"))

    assert len(server.token_requests) == 2
    assert [sent.token for sent in server.sent] == [server.issued[0], server.issued[0], server.issued[1]]


def test_an_invalidated_token_is_refreshed_and_the_send_retried_once(
    server: WechatServer, channel: WechatChannel
) -> None:
    channel.send(template(key="k-1"))
    server.invalidate()

    provider_id = channel.send(template(key="k-2"))

    assert [sent.errcode for sent in server.sent] == [0, 40001, 0]
    assert server.sent[1].token == server.issued[0]
    assert server.sent[2].token == server.issued[1]
    assert server.sent[1].body == server.sent[2].body
    assert len(server.token_requests) == 2
    assert provider_id == "200228335"


def test_a_token_rejected_twice_is_transient(server: WechatServer, channel: WechatChannel) -> None:
    server.errcodes.extend([40001, 40001])

    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(template())

    assert caught.value.code == "wechat_token_rejected"
    assert len(server.sent) == 2
    assert server.issued[0] not in str(caught.value)


def test_an_unfollowed_user_is_permanent(server: WechatServer, channel: WechatChannel) -> None:
    server.unfollowed.add(OPENID)

    with pytest.raises(PermanentDeliveryError) as caught:
        channel.send(template())

    assert caught.value.code == "wechat_43004"
    assert len(server.sent) == 1


@pytest.mark.parametrize("errcode", [40003, 40037, 43101, 47003])
def test_a_message_wechat_can_never_deliver_is_permanent(
    server: WechatServer, channel: WechatChannel, errcode: int
) -> None:
    server.errcodes.append(errcode)
    with pytest.raises(PermanentDeliveryError) as caught:
        channel.send(template())
    assert caught.value.code == f"wechat_{errcode}"


@pytest.mark.parametrize("errcode", [-1, 45009, 45047, 99999])
def test_busy_quota_and_unknown_errcodes_are_transient(
    server: WechatServer, channel: WechatChannel, errcode: int
) -> None:
    server.errcodes.append(errcode)
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(template())
    assert caught.value.code == f"wechat_{errcode}"
    assert len(server.sent) == 1


def test_an_http_5xx_is_transient(server: WechatServer, channel: WechatChannel) -> None:
    server.statuses.append(503)
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(template())
    assert caught.value.code == "wechat_http_503"


def test_a_wrong_secret_is_transient_and_never_quoted(server: WechatServer, clock: FakeClock) -> None:
    channel = WechatChannel(APPID, "wrong-secret-xyz", api_base=server.api_base, clock=clock)
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(template())
    assert caught.value.code == "wechat_token_40125"
    assert "wrong-secret-xyz" not in str(caught.value)
    assert server.sent == []


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (None, 'no "wechat"'),
        ({"kind": "sms", "template_id": "t", "data": {}}, "kind"),
        ({"kind": "template", "template_id": "", "data": {}}, "template_id"),
        ({"kind": "template", "template_id": "t", "data": {"thing1": 3}}, "data"),
        ({"kind": "template", "template_id": "t", "data": {}, "miniprogram": "x"}, "miniprogram"),
    ],
)
def test_an_unusable_payload_is_permanent_before_any_request(
    server: WechatServer, channel: WechatChannel, spec: Any, problem: str
) -> None:
    payload = {} if spec is None else {"wechat": spec}
    with pytest.raises(PermanentDeliveryError, match=problem) as caught:
        channel.send(Envelope("wechat", OPENID, "", "", "k", payload=payload))
    assert caught.value.code == "wechat_payload_invalid"
    assert server.token_requests == []


def test_a_recipient_that_is_no_openid_is_permanent(server: WechatServer, channel: WechatChannel) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        channel.send(template(recipient="wangfang@example.com"))
    assert caught.value.code == "wechat_openid_invalid"
    assert server.token_requests == []


def failing_transport(error: type[httpx.TransportError]) -> httpx.MockTransport:
    """Answers tokens, then fails every send with ``error`` whose text quotes the request URL."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "TOKEN-in-url-77", "expires_in": 7200})
        raise error(f"failed on {request.url}", request=request)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("error", "code"), [(httpx.ReadTimeout, "wechat_timeout"), (httpx.ConnectError, "wechat_unavailable")]
)
def test_timeouts_and_dropped_connections_are_transient_without_the_token(
    error: type[httpx.TransportError], code: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = WechatChannel(APPID, SECRET, transport=failing_transport(error))

    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(template())

    assert caught.value.code == code
    assert "access_token=***" in caught.value.message
    shown = "".join(traceback.format_exception(caught.value)) + caplog.text
    assert "TOKEN-in-url-77" not in shown
    assert SECRET not in shown


def test_the_secret_never_shows_in_a_repr(server: WechatServer, channel: WechatChannel) -> None:
    channel.send(template())
    settings = WechatSettings(appid=APPID, secret=SecretStr(SECRET))
    for shown in (repr(settings), repr(channel), repr(channel.tokens)):
        assert SECRET not in shown
        assert server.issued[0] not in shown


def test_settings_are_read_from_guanxi_wechat_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANXI_WECHAT_APPID", APPID)
    monkeypatch.setenv("GUANXI_WECHAT_SECRET", SECRET)
    monkeypatch.setenv("GUANXI_WECHAT_API_BASE", "http://127.0.0.1:9")
    settings = WechatSettings()
    assert (settings.appid, settings.api_base, settings.timeout_seconds) == (APPID, "http://127.0.0.1:9", 10)
    channel = WechatChannel.from_settings(settings)
    assert channel.api_base == "http://127.0.0.1:9"
    channel.close()


@pytest.mark.parametrize(
    ("appid", "secret", "variable"),
    [(None, SECRET, "GUANXI_WECHAT_APPID"), (APPID, None, "GUANXI_WECHAT_SECRET")],
)
def test_a_channel_without_appid_or_secret_is_a_config_error(
    appid: str | None, secret: str | None, variable: str
) -> None:
    settings = WechatSettings(appid=appid, secret=SecretStr(secret) if secret else None)
    with pytest.raises(ConfigError, match=variable):
        WechatChannel.from_settings(settings)
