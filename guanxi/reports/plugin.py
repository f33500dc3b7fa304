"""The built-in reports as a plugin."""

from __future__ import annotations
