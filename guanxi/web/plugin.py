"""The web app's built-in pages, API routes, menu and words as a plugin."""

from __future__ import annotations
