"""The interface's words in each language, and how a request's language is chosen.

Every string the UI shows goes through :func:`translate` with a key from the
catalogues: the built-in words of :mod:`.zh_cn` and :mod:`.en` and every
plugin's, merged from the ``register_translations`` hook (a test checks both
languages have every key and every key used by a template). Missing keys fall
back to Simplified Chinese, then to the key itself, so a page never fails over
a word.

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
from guanxi.errors import ConfigError
from guanxi.plugins import cached, plugin_manager, results_by_plugin

LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}
FIRST_LOCALE = "zh-CN"


def _catalogues() -> dict[str, Mapping[str, str]]:
    merged: dict[str, dict[str, str]] = {locale: {} for locale in LANGUAGE_NAMES}
    owner: dict[tuple[str, str], str] = {}
    for plugin, found in results_by_plugin(plugin_manager().hook.register_translations):
        for words in found:
            for locale, messages in words.items():
                target = merged.setdefault(locale, {})
                for key, text in messages.items():
                    if key in target and target[key] != text:
                        raise ConfigError(
                            f"two plugins define the {locale} word {key!r}: {owner[(locale, key)]} and {plugin}"
                        )
                    target[key], owner[(locale, key)] = text, plugin
    return dict(merged)


catalogues = cached(_catalogues)
"""Every language's words, ``{locale: {key: text}}``, built-ins and plugins merged."""

Translator = Callable[..., str]


def translate(locale: str, key: str, **params: Any) -> str:
    """The message ``key`` in ``locale``, with ``{name}`` placeholders filled from ``params``."""
    words = catalogues()
    first = words[FIRST_LOCALE]
    template = words.get(locale, first).get(key) or first.get(key) or key
    return template.format(**params) if params else template


def knows(locale: str, key: str) -> bool:
    """Whether the catalogue of ``locale`` has ``key`` (for labels with a computed fallback)."""
    words = catalogues()
    return key in words.get(locale, words[FIRST_LOCALE])


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
