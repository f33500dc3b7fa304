"""Chinese first, English on request; every word comes from the catalogue, in both languages."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from guanxi.appdb.roles import Permission, Role
from guanxi.jobs.store import ORIGINS
from guanxi.jobs.tables import ALL_STATES
from guanxi.tables import RAW_TABLES
from guanxi.web.i18n import catalogues, translate
from guanxi.web.ui.jobs import QUICK_STARTS, STEP_WORDS

from .conftest import csrf_of

WEB = Path(__file__).parents[2] / "guanxi" / "web"
LITERAL_KEY = re.compile(r"""\bt(?:_or)?\(\s*["']([a-z0-9_.\-]+)["']""")
DYNAMIC_KEY = re.compile(r"""\bt(?:_or)?\(\s*["']([a-z0-9_.\-]+\.)["']\s*~""")
FLASH_KEY = re.compile(r"""(?:flash\([^)]*?|"error": )["']([a-z]+\.[a-z_]+)["']""")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        keys |= {k for k in LITERAL_KEY.findall(text) if not k.endswith(".")}
        keys |= set(FLASH_KEY.findall(text))
    return keys


def test_both_languages_have_exactly_the_same_keys() -> None:
    words = catalogues()
    assert set(words["zh-CN"]) ^ set(words["en"]) == set()


def test_no_message_names_a_placeholder_after_translate_s_own_arguments() -> None:
    """``t("…", key=…)`` would fail with "multiple values for argument 'key'" when the page renders."""
    clashing = {
        (locale, key)
        for locale, words in catalogues().items()
        for key, text in words.items()
        if placeholders(text) & {"key", "locale"}
    }
    assert clashing == set()


def test_both_languages_use_the_same_placeholders() -> None:
    zh, en = catalogues()["zh-CN"], catalogues()["en"]
    differ = {k for k in zh if placeholders(zh[k]) != placeholders(en[k])}
    assert differ == set()


def test_every_key_the_templates_and_routes_use_exists() -> None:
    keys = used_keys()
    assert len(keys) > 100
    assert keys - set(catalogues()["zh-CN"]) == set()


def test_every_computed_key_family_is_complete() -> None:
    families = {
        "role.": [r.value for r in Role],
        "permission.": [p.value for p in Permission],
        "kind.": list(RAW_TABLES),
        "status.": ["loaded", "partial", "failed", "empty", "running"],
        "jobs.state.": list(ALL_STATES),
        "jobs.origin.": list(ORIGINS),
        "jobs.start.": list(QUICK_STARTS),
        "jobs.step.": list(STEP_WORDS),
    }
    missing = [
        prefix + name
        for prefix, names in families.items()
        for name in names
        if prefix + name not in catalogues()["en"]
    ]
    assert missing == []
    prefixes = set()
    for path in WEB.rglob("*.html"):
        prefixes |= set(DYNAMIC_KEY.findall(path.read_text(encoding="utf-8")))
    handled = {
        "role.",
        "permission.",
        "kind.",
        "status.",
        "imports.",
        "error.",
        "quality.",
        "quality.section.",
        "quality.col.",
        "reason.",
        "severity.",
        "audit.action.",
        "jobs.state.",
        "jobs.origin.",
        "jobs.start.",
        "jobs.field.",
        "jobs.hint.",
    }
    assert prefixes <= handled


def test_translate_fills_placeholders_and_falls_back_to_chinese_then_the_key() -> None:
    assert translate("en", "users.created", username="li.na") == "Created user li.na."
    assert translate("zh-CN", "users.created", username="li.na") == "已创建用户 li.na。"
    assert translate("fr", "nav.imports") == "导入"
    assert translate("en", "no.such.key") == "no.such.key"


def test_pages_are_in_chinese_by_default(as_role: Callable[[Role], TestClient]) -> None:
    page = as_role(Role.VIEWER).get("/")
    assert '<html lang="zh-CN">' in page.text
    assert "仪表盘" in page.text
    assert page.headers["content-language"] == "zh-CN"


def test_lang_query_switches_to_english_for_the_session(as_role: Callable[[Role], TestClient]) -> None:
    client = as_role(Role.VIEWER)
    assert "Dashboard" in client.get("/?lang=en").text
    assert '<html lang="en">' in client.get("/imports").text
    assert "仪表盘" in client.get("/?lang=zh-CN").text


def test_the_login_page_speaks_the_language_asked_for_and_remembers_it(client: TestClient) -> None:
    assert "登录" in client.get("/login").text
    assert "Sign in" in client.get("/login?lang=en").text
    assert "Sign in" in client.get("/login").text


def test_a_user_whose_locale_is_english_sees_english(
    client: TestClient, add_user: Callable[..., None]
) -> None:
    from .conftest import sign_in

    add_user("amy", Role.VIEWER, locale="en")
    sign_in(client, "amy")
    assert '<html lang="en">' in client.get("/").text


def test_choosing_english_is_saved_for_the_user(as_role: Callable[[Role], TestClient]) -> None:
    client = as_role(Role.VIEWER)
    token = csrf_of(client.get("/").text)
    response = client.post(
        "/preferences/locale",
        data={"locale": "en", "next": "/imports", "csrf_token": token},
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (303, "/imports")
    assert "Import history" in client.get("/imports").text
    assert client.get("/v1/me").json()["name"] == "viewer"


def test_choosing_an_unknown_language_is_refused(as_role: Callable[[Role], TestClient]) -> None:
    client = as_role(Role.VIEWER)
    token = csrf_of(client.get("/").text)
    response = client.post(
        "/preferences/locale",
        data={"locale": "fr", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_failed"
