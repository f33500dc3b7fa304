"""Rendering a page: the template plus what every page needs (language, user, CSRF token, menu, notices)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from guanxi.appdb.roles import Permission, Role
from guanxi.plugins import cached, plugin_manager, results_by_plugin
from guanxi.web import display
from guanxi.web.auth import Principal
from guanxi.web.csrf import csrf_token
from guanxi.web.i18n import LANGUAGE_NAMES, knows, request_locale, translator
from guanxi.web.state import AppState


@dataclass(frozen=True)
class MenuItem:
    """One entry of the main menu, as the ``menu_items`` hook returns it."""

    key: str
    """Catalogue key of the label (a plugin brings its words through ``register_translations``)."""
    href: str
    permission: Permission
    section: str
    """Which page family it highlights."""
    order: int = 500
    """Place in the menu, smallest first (built-ins use 100 … 900 in steps of 100); ties keep plugin order."""


def _menu() -> tuple[MenuItem, ...]:
    items = [item for _plugin, found in results_by_plugin(plugin_manager().hook.menu_items) for item in found]
    return tuple(sorted(items, key=lambda item: item.order))


menu = cached(_menu)
"""Every plugin's menu entries in menu order (rebuilt when the plugins change)."""


def flash(request: Request, kind: str, key: str, **params: Any) -> None:
    """Queue a notice for the next page this session sees (``kind``: ``ok``, ``error``, ``info``).

    ``key`` is a catalogue key; ``params`` fill its placeholders and must not hold secrets
    (the session cookie is signed, not encrypted).
    """
    notices = list(request.session.get("flash", []))
    notices.append([kind, key, params])
    request.session["flash"] = notices[-5:]


def principal_of(request: Request) -> Principal | None:
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else None


def locale_of(request: Request, state: AppState) -> str:
    principal = principal_of(request)
    return request_locale(request, state.settings, principal.locale if principal else None)


def render(
    request: Request,
    state: AppState,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    section: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` in the request's language with the shared page context."""
    locale = locale_of(request, state)
    t = translator(locale)
    principal = principal_of(request)
    notices = request.session.pop("flash", []) if "flash" in request.session else []
    zone = state.settings.zone
    shared: dict[str, Any] = {
        "request": request,
        "t": t,
        "t_or": lambda key, fallback: t(key) if knows(locale, key) else fallback,
        "humanise": display.humanise_key,
        "locale": locale,
        "languages": LANGUAGE_NAMES,
        "principal": principal,
        "menu": [item for item in menu() if principal is not None and principal.can(item.permission)],
        "section": section,
        "csrf_token": csrf_token(request),
        "notices": [(kind, t(key, **params)) for kind, key, params in notices],
        "money": lambda amount: display.format_money(amount, state.settings.currency),
        "count": display.format_count,
        "when": lambda value: display.format_time(value, zone),
        "cell": lambda value: display.format_cell(value, zone),
        "roles": list(Role),
        "Permission": Permission,
        "timezone": state.settings.timezone,
    }
    shared.update(context or {})
    response = state.templates.TemplateResponse(request, template, shared, status_code=status_code)
    response.headers["Content-Language"] = locale
    return response
