"""The interface's words in each language, and how a request's language is chosen.

Every string the UI shows goes through :func:`translate` with a key from the
catalogues :mod:`.zh_cn` and :mod:`.en` (a test checks both have every key and
every key used by a template). Missing keys fall back to Simplified Chinese,
then to the key itself, so a page never fails over a word.

The language of a request: ``?lang=`` (remembered in the session), else the
session's remembered choice, else the user's saved ``locale``, else
``Settings.locale``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request

from guanxi.appdb.accounts import LOCALES
from guanxi.config import Settings
from guanxi.web.i18n import en, zh_cn

CATALOGUES: dict[str, Mapping[str, str]] = {"zh-CN": zh_cn.MESSAGES, "en": en.MESSAGES}
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}

Translator = Callable[..., str]


def translate(locale: str, key: str, **params: Any) -> str:
    """The message ``key`` in ``locale``, with ``{name}`` placeholders filled from ``params``."""
    template = CATALOGUES.get(locale, zh_cn.MESSAGES).get(key) or zh_cn.MESSAGES.get(key) or key
    return template.format(**params) if params else template


def knows(locale: str, key: str) -> bool:
    """Whether the catalogue of ``locale`` has ``key`` (for labels with a computed fallback)."""
    return key in CATALOGUES.get(locale, zh_cn.MESSAGES)


def translator(locale: str) -> Translator:
    """``t(key, **params)`` bound to ``locale``, for templates."""

    def t(key: str, **params: Any) -> str:
        return translate(locale, key, **params)

    return t


def request_locale(request: Request, settings: Settings, user_locale: str | None = None) -> str:
    """The language to answer ``request`` in (see the module docstring)."""
    asked = request.query_params.get("lang")
    if asked in LOCALES:
        if request.session.get("lang") != asked:
            request.session["lang"] = asked
        return asked
    remembered = request.session.get("lang")
    if isinstance(remembered, str) and remembered in LOCALES:
        return remembered
    if user_locale in LOCALES:
        return user_locale
    return settings.locale
