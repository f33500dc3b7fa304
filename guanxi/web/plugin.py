"""The web app's built-in pages, API routes, menu and words, through the same hooks as a plugin's."""

from __future__ import annotations

from fastapi import APIRouter

from guanxi.appdb.roles import Permission
from guanxi.plugins import hookimpl
from guanxi.web.pages import MenuItem


@hookimpl
def register_pages() -> list[APIRouter]:
    from guanxi.web.ui import (
        campaigns,
        customers,
        dashboard,
        imports,
        jobs,
        preferences,
        quality,
        segments,
        session,
        subscriptions,
        tasks,
        users,
    )

    return [
        m.router
        for m in (
            session,
            preferences,
            dashboard,
            customers,
            tasks,
            imports,
            jobs,
            quality,
            segments,
            campaigns,
            users,
            subscriptions,
        )
    ]


@hookimpl
def register_api_routes() -> list[APIRouter]:
    from guanxi.web.api import (
        campaigns,
        customers,
        docs,
        feedback,
        imports,
        jobs,
        overview,
        quality,
        reports,
        segments,
        subscriptions,
        tasks,
        users,
    )

    return [
        m.router
        for m in (
            overview,
            customers,
            imports,
            jobs,
            quality,
            segments,
            campaigns,
            reports,
            tasks,
            users,
            subscriptions,
            feedback,
            docs,
        )
    ]


@hookimpl
def menu_items() -> list[MenuItem]:
    return [
        MenuItem("nav.dashboard", "/", Permission.VIEW, "dashboard", order=100),
        MenuItem("nav.customers", "/customers", Permission.VIEW, "customers", order=200),
        MenuItem("nav.tasks", "/tasks", Permission.EDIT, "tasks", order=250),
        MenuItem("nav.imports", "/imports", Permission.VIEW, "imports", order=300),
        MenuItem("nav.jobs", "/jobs", Permission.VIEW, "jobs", order=350),
        MenuItem("nav.quality", "/quality", Permission.VIEW, "quality", order=400),
        MenuItem("nav.segments", "/segments", Permission.VIEW, "segments", order=500),
        MenuItem("nav.campaigns", "/campaigns", Permission.VIEW, "campaigns", order=550),
        MenuItem("nav.users", "/users", Permission.MANAGE_USERS, "users", order=800),
        MenuItem("nav.api", "/v1/docs", Permission.VIEW, "api", order=900),
    ]


@hookimpl
def register_translations() -> dict[str, dict[str, str]]:
    from guanxi.web.i18n import campaigns, en, jobs, subscriptions, tasks, zh_cn

    return {
        "zh-CN": {**zh_cn.MESSAGES, **jobs.ZH_CN, **tasks.ZH_CN, **subscriptions.ZH_CN, **campaigns.ZH_CN},
        "en": {**en.MESSAGES, **jobs.EN, **tasks.EN, **subscriptions.EN, **campaigns.EN},
    }
