"""The built-in ``guanxi`` commands as a plugin."""

from __future__ import annotations
