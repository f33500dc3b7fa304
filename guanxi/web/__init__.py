"""The web application: server-rendered pages (zh-CN first, English) and the ``/v1`` JSON API.

Build it with :func:`create_app(settings) <guanxi.web.app.create_app>`; nothing
is created at import time.
"""

from __future__ import annotations

from guanxi.web.app import create_app

__all__ = ["create_app"]
