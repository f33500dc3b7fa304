"""The customer models as a plugin: every built-in model enters through ``register_models``."""

from __future__ import annotations
