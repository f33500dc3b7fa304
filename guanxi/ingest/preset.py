"""Column mappings: built-in platform presets, user mapping files, header suggestions.

A mapping says, for one import KIND, which input header(s) feed each canonical
field (the first non-empty of the listed headers wins), and how platform words
map onto canonical values (``status_map``, ``value_map``). Built-in presets
live in ``guanxi/ingest/presets/*.yaml`` and enter, like a plugin's, through the
``register_import_presets`` hook; a user mapping file has the same shape.
"""

from __future__ import annotations

import difflib
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from guanxi.errors import ConfigError, MappingError, UnknownPresetError
from guanxi.ingest.fields import RULES
from guanxi.plugins import plugin_manager, results_by_plugin
from guanxi.tables import RAW_TABLES

KINDS = tuple(RAW_TABLES)
_LOAD_COLUMNS = {"batch_id", "ingested_at", "row_hash", "extra"}

REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "customers": (),
    "orders": (("order_id",), ("created_at",)),
    "order-items": (("order_id",), ("product", "sku")),
    "events": (("occurred_at",), ("event", "type")),
    "tickets": (("ticket_id",),),
}
"""For each kind, groups of fields of which at least one must be mapped."""


def mappable_fields(kind: str) -> list[str]:
    """Canonical fields of ``kind`` a mapping may fill (everything but load bookkeeping)."""
    spec = RAW_TABLES[kind]
    derived = {"item_key"} if kind == "order-items" else {"phone_partial"}
    return [c for c in spec.columns if c not in _LOAD_COLUMNS | derived]


class Mapping(BaseModel):
    """A validated column mapping for one import kind."""

    name: str = "custom"
    kind: str
    source: str = "crm"
    description: str = ""
    columns: dict[str, list[str]]
    status_map: dict[str, str] = Field(default_factory=dict)
    value_map: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("columns", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ([v] if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _check(self) -> Mapping:
        problems: list[str] = []
        if self.kind not in KINDS:
            problems.append(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        else:
            allowed = set(mappable_fields(self.kind))
            problems += [f"unknown field {f!r} for {self.kind}" for f in self.columns if f not in allowed]
            problems += [f"field {f!r} lists no header" for f, hs in self.columns.items() if not hs]
        from guanxi.tables import ORDER_STATUSES

        problems += [
            f"status_map: {word!r} maps to {status!r}, not one of {', '.join(ORDER_STATUSES)}"
            for word, status in self.status_map.items()
            if status not in ORDER_STATUSES
        ]
        if problems:
            raise ValueError("; ".join(problems))
        if self.status_map:
            self.value_map = {
                **self.value_map,
                "status": {**self.value_map.get("status", {}), **self.status_map},
            }
        return self

    def missing_required(self, headers: list[str]) -> list[str]:
        """Required field groups none of whose headers appear in ``headers``."""
        present = set(headers)
        missing = []
        for group in REQUIRED[self.kind]:
            if not any(any(h in present for h in self.columns.get(f, [])) for f in group):
                missing.append(" or ".join(group))
        return missing

    def coverage(self, headers: list[str]) -> float:
        """Share of this mapping's fields found among ``headers`` (0–1)."""
        if not self.columns:
            return 0.0
        present = set(headers)
        found = sum(1 for hs in self.columns.values() if any(h in present for h in hs))
        return found / len(self.columns)


def _parse(data: Any, origin: str) -> Mapping:
    if not isinstance(data, dict):
        raise MappingError(f"{origin}: a mapping file must be a YAML mapping with kind and columns")
    try:
        return Mapping.model_validate(data)
    except ValidationError as err:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'mapping'}: {e['msg']}" for e in err.errors()
        )
        raise MappingError(f"{origin}: {details}") from err


@cache
def read_preset_folder(folder: Path) -> tuple[Mapping, ...]:
    """The presets in ``folder``'s ``*.yaml`` files, by file name (each folder read once per process).

    Raises :class:`MappingError` naming the file for a preset that does not validate.
    """
    found: list[Mapping] = []
    for entry in sorted(folder.glob("*.yaml")):
        found.append(_parse(yaml.safe_load(entry.read_text(encoding="utf-8")), entry.name))
    return tuple(found)


def available_presets() -> dict[str, Mapping]:
    """Every preset by name: the built-ins and each plugin's, through ``register_import_presets``.

    A hook returns mappings or folders of preset YAML files. Two presets of the
    same name raise :class:`~guanxi.errors.ConfigError` naming both plugins.
    """
    found: dict[str, Mapping] = {}
    owner: dict[str, str] = {}
    for plugin, items in results_by_plugin(plugin_manager().hook.register_import_presets):
        for item in items:
            for mapping in read_preset_folder(Path(item)) if isinstance(item, Path | str) else (item,):
                if mapping.name in found:
                    raise ConfigError(
                        f"two plugins define the import preset {mapping.name!r}: {owner[mapping.name]} and {plugin}"
                    )
                found[mapping.name], owner[mapping.name] = mapping, plugin
    return found


def get_preset(name: str) -> Mapping:
    """The preset called ``name``; raises UnknownPresetError listing the choices."""
    presets = available_presets()
    if name not in presets:
        raise UnknownPresetError(f"no preset {name!r}; choose one of {', '.join(sorted(presets))}")
    return presets[name]


def load_mapping_file(path: Path) -> Mapping:
    """A user mapping file (YAML, same shape as a preset); raises MappingError with every problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise MappingError(f"{path}: cannot read mapping file: {err}") from err
    return _parse(data, str(path))


def detect_preset(kind: str, headers: list[str]) -> Mapping | None:
    """The built-in preset of ``kind`` that best covers ``headers``, if one has every required field."""
    candidates = [
        p for p in available_presets().values() if p.kind == kind and not p.missing_required(headers)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.coverage(headers), not p.name.startswith("generic")))


def suggest_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """A best-guess ``field → header`` for headers no preset recognises.

    Each header is compared with every alias of every preset of ``kind`` and with
    the field names themselves (exact, then close spellings); each header is used
    at most once. The result is a starting point for a user mapping file.
    """
    aliases: dict[str, str] = {}
    for preset in available_presets().values():
        if preset.kind != kind:
            continue
        for field_name, names in preset.columns.items():
            for alias in names:
                aliases.setdefault(alias.lower(), field_name)
    for field_name in mappable_fields(kind):
        aliases.setdefault(field_name, field_name)
    suggestion: dict[str, str] = {}
    for header in headers:
        key = header.strip().lower()
        guess: str | None = aliases.get(key)
        if guess is None:
            # Short Chinese headers differ by a character or two (单据号 ~ 订单号), so CJK needs a lower
            # bar; a word that names the kind of value (日期, 电话, 金额) keeps the guess to that kind.
            cutoff = 0.5 if any("\u4e00" <= ch <= "\u9fff" for ch in key) else 0.75
            wanted = _value_kind(key)
            pool = [a for a, f in aliases.items() if wanted is None or RULES.get(f) in wanted]
            close = difflib.get_close_matches(key, pool, n=1, cutoff=cutoff)
            guess = aliases[close[0]] if close else None
        if guess is not None and guess not in suggestion:
            suggestion[guess] = header
    return suggestion


_VALUE_WORDS: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = (
    (("时间", "日期", "日", "time", "date", " at"), frozenset({"timestamp", "date"})),
    (("电话", "手机", "phone", "mobile", "tel"), frozenset({"phone"})),
    (("邮箱", "mail"), frozenset({"email"})),
    (
        ("金额", "价", "应收", "实收", "应付", "实付", "运费", "amount", "price", "total"),
        frozenset({"amount"}),
    ),
    (("数量", "件数", "qty", "quantity"), frozenset({"integer"})),
)


def _value_kind(header: str) -> frozenset[str] | None:
    """The rules a header's wording points to (``下单日`` → a time), or None when it says nothing."""
    for words, rules in _VALUE_WORDS:
        if any(word in header for word in words):
            return rules
    return None


def mapping_yaml(kind: str, suggestion: dict[str, str], source: str = "crm") -> str:
    """A mapping file text for ``suggestion``, ready to edit and pass with ``--mapping``."""
    body = {
        "name": "custom",
        "kind": kind,
        "source": source,
        "columns": {f: [h] for f, h in suggestion.items()},
    }
    unused = [f for f in mappable_fields(kind) if f not in suggestion]
    required = [" or ".join(g) for g in REQUIRED[kind]]
    notes = [
        f"# required: {', '.join(required) or 'an identifier'}",
        f"# other fields you may map: {', '.join(unused)}",
    ]
    return "\n".join(notes) + "\n" + yaml.safe_dump(body, allow_unicode=True, sort_keys=False)
