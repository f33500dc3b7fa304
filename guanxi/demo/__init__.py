"""The ``guanxi demo`` data set: a seeded Chinese e-commerce shop, as real exports.

:func:`run_demo` generates people, orders, customer lists, tickets and events
(:func:`generate`), writes them in the platforms' export formats
(:func:`guanxi.demo.exports.write_exports`) with the identity truth beside
them, and imports them through the ordinary import path.
"""

from __future__ import annotations

from guanxi.demo.dataset import DemoDataset, generate
from guanxi.demo.run import DemoImport, DemoResult, run_demo
from guanxi.demo.spec import DemoSpec, default_end

__all__ = ["DemoDataset", "DemoImport", "DemoResult", "DemoSpec", "default_end", "generate", "run_demo"]
