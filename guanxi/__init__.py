"""guanxi: one profile per real person, the classic customer models, precision marketing."""

from __future__ import annotations

__version__ = "0.1.0"
