"""Identity rules: which identifiers link records, how golden-record fields survive.

Pure configuration, no I/O except :func:`load_rules` reading one YAML file. The
defaults encode the product's guarantees:

* phone (E.164), e-mail, WeChat unionid, QQ, Taobao id, JD id and member number
  link records wherever they appear;
* a WeChat openid links only within one app id (the value is scoped as
  ``appid/openid``; rows without an app id use ``wechat_appids[source]`` or, failing
  that, the source name, so openids of different apps never meet);
* a masked phone (``138****1234``) never links on its own; together with the same
  name it does (``phone_partial_name``);
* known dummy values (``test@test.com``, ``+8613800138000`` …) never link.

The rules must stay the same between runs for ids to stay stable; keep them in
``identity.yaml`` (see :func:`rules_path`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from guanxi.config import Settings
from guanxi.errors import ConfigError
from guanxi.tables import RAW_CUSTOMERS, RAW_EVENTS, RAW_ORDERS, RAW_TICKETS

RawKind = Literal["customers", "orders", "events", "tickets"]
SurvivorshipRule = Literal["most_recent", "most_trusted", "most_frequent"]
BlockingKey = Literal["name", "birthday", "address", "city", "name_prefix", "address_prefix", "birth_year"]
"""Profile columns candidate pairs may be blocked on: the four compared fields, the first two
characters of the name (surname + first given character in Chinese), the first six of the
address, and the birth year."""

RAW_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": tuple(RAW_CUSTOMERS.columns),
    "orders": tuple(RAW_ORDERS.columns),
    "events": tuple(RAW_EVENTS.columns),
    "tickets": tuple(RAW_TICKETS.columns),
}

BUILTIN_IDENTIFIERS: dict[str, dict[str, str]] = {
    "phone": {"customers": "phone", "orders": "phone", "events": "phone", "tickets": "phone"},
    "email": {"customers": "email", "orders": "email", "events": "email", "tickets": "email"},
    "wechat_unionid": {"customers": "wechat_unionid", "events": "wechat_unionid"},
    "wechat_openid": {"customers": "wechat_openid", "events": "wechat_openid"},
    "qq": {"customers": "qq"},
    "taobao_id": {"customers": "taobao_id"},
    "jd_id": {"customers": "jd_id"},
    "member_no": {"customers": "member_no"},
    "phone_partial": {
        "customers": "phone_partial",
        "orders": "phone_partial",
        "events": "phone_partial",
        "tickets": "phone_partial",
    },
}
"""Identifier kind → raw table → the column holding it."""

NAME_COLUMNS: dict[str, str] = {"customers": "name", "orders": "buyer_name"}
"""Where a record's name is, for the masked-phone-plus-name identifier."""

COMPOSITE_KIND = "phone_partial_name"

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _default_placeholders() -> dict[str, list[str]]:
    repeated = [f"+861{digit * 10}" for digit in "0123456789"]
    return {
        "phone": [*repeated, "+8613800138000", "+8613012345678", "+8613812345678", "+8612345678901"],
        "email": [
            "test@test.com",
            "test@example.com",
            "example@example.com",
            "a@a.com",
            "abc@abc.com",
            "none@none.com",
            "noemail@noemail.com",
            "no@email.com",
            "null@null.com",
            "123@qq.com",
            "123456@qq.com",
            "noreply@noreply.com",
        ],
    }


class CustomIdentifier(BaseModel):
    """An extra identifier kind read from a raw table column or a key of its JSON ``extra``.

    Example (``identity.yaml``)::

        custom_identifiers:
          - {kind: douyin_id, table: customers, json_key: douyin_id}
          - {kind: store_card, table: orders, json_key: card_no, links: true}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    table: RawKind
    column: str | None = None
    json_key: str | None = None
    json_column: Literal["extra", "properties"] = "extra"
    lower: bool = False
    links: bool = True

    @field_validator("kind")
    @classmethod
    def _kind_shape(cls, value: str) -> str:
        if not _KIND.match(value):
            raise ValueError(
                f"identifier kind {value!r} must be snake_case (a-z, 0-9, _), at most 40 characters"
            )
        if value in BUILTIN_IDENTIFIERS or value == COMPOSITE_KIND:
            raise ValueError(f"identifier kind {value!r} is built in; choose another name")
        return value

    @model_validator(mode="after")
    def _one_place(self) -> CustomIdentifier:
        if (self.column is None) == (self.json_key is None):
            raise ValueError(f"custom identifier {self.kind!r}: give exactly one of 'column' or 'json_key'")
        if self.column is not None and self.column not in RAW_TABLE_COLUMNS[self.table]:
            raise ValueError(
                f"custom identifier {self.kind!r}: raw_{self.table} has no column {self.column!r}"
            )
        if self.json_column == "properties" and self.table != "events":
            raise ValueError(f"custom identifier {self.kind!r}: only raw_events has 'properties'")
        return self


class Survivorship(BaseModel):
    """Which value of a golden-record field wins.

    ``most_recent``: the last observed; ``most_trusted``: from the most trusted
    source (``IdentityRules.source_trust``), then the customer's own profile over
    orders, tickets and events; ``most_frequent``: the value seen most often.
    Ties fall through to the other two criteria, then to the value itself, so the
    choice never depends on input order. ``place`` is province, city, district and
    address chosen together from one observation, so they never mix.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: SurvivorshipRule = "most_trusted"
    gender: SurvivorshipRule = "most_trusted"
    birthday: SurvivorshipRule = "most_trusted"
    phone: SurvivorshipRule = "most_recent"
    email: SurvivorshipRule = "most_recent"
    wechat_unionid: SurvivorshipRule = "most_recent"
    company: SurvivorshipRule = "most_recent"
    title: SurvivorshipRule = "most_recent"
    place: SurvivorshipRule = "most_frequent"


class ProbabilisticRules(BaseModel):
    """The optional Splink step on name, birthday, address and city.

    Pairs at or above ``link_threshold`` (match probability) merge; pairs from
    ``review_threshold`` up to it wait in the review queue. Only pairs agreeing
    exactly on one of the ``blocking`` key sets are compared at all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    link_threshold: float = Field(0.95, gt=0, le=1)
    review_threshold: float = Field(0.80, gt=0, le=1)
    blocking: list[list[BlockingKey]] = [
        ["birthday"],
        ["name"],
        ["address"],
        ["city", "name_prefix"],
        ["city", "address_prefix"],
    ]
    training_blocking: list[list[BlockingKey]] = [["birthday"], ["city"]]
    max_training_pairs: float = Field(2e6, gt=0)
    min_training_records: int = Field(1000, ge=10)
    max_u_pairs: float = Field(5e6, gt=0)
    seed: int = 42

    @model_validator(mode="after")
    def _ordered(self) -> ProbabilisticRules:
        if self.review_threshold > self.link_threshold:
            raise ValueError("review_threshold must not exceed link_threshold")
        if not self.blocking or any(not rule for rule in self.blocking):
            raise ValueError("blocking needs at least one non-empty rule")
        return self


class IdentityRules(BaseModel):
    """Everything identity resolution can be told; the defaults suit Chinese e-commerce."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    links: dict[str, bool] = Field(
        default_factory=lambda: {
            "phone": True,
            "email": True,
            "wechat_unionid": True,
            "wechat_openid": True,
            "qq": True,
            "taobao_id": True,
            "jd_id": True,
            "member_no": True,
            "phone_partial": False,
            COMPOSITE_KIND: True,
        }
    )
    wechat_appids: dict[str, str] = Field(default_factory=dict)
    source_id_kinds: dict[str, str] = Field(
        default_factory=lambda: {"taobao": "taobao_id", "tmall": "taobao_id", "jd": "jd_id"}
    )
    custom_identifiers: list[CustomIdentifier] = Field(default_factory=list)
    placeholder_values: dict[str, list[str]] = Field(default_factory=_default_placeholders)
    source_trust: list[str] = Field(
        default_factory=lambda: ["crm", "member", "wechat", "tmall", "taobao", "jd", "youzan", "shopify"]
    )
    survivorship: Survivorship = Field(default_factory=Survivorship)
    probabilistic: ProbabilisticRules = Field(default_factory=ProbabilisticRules)

    @field_validator("links")
    @classmethod
    def _phone_partial_never_alone(cls, value: dict[str, bool]) -> dict[str, bool]:
        if value.get("phone_partial"):
            raise ValueError("a masked phone never links on its own; use phone_partial_name")
        return value

    @model_validator(mode="after")
    def _known_kinds(self) -> IdentityRules:
        kinds = self.kinds()
        unknown = sorted(set(self.links) - set(kinds))
        problems = [f"links: unknown identifier kind {kind!r}" for kind in unknown]
        problems += [
            f"source_id_kinds: {source!r} names unknown kind {kind!r}"
            for source, kind in self.source_id_kinds.items()
            if kind not in kinds
        ]
        links_by_kind: dict[str, set[bool]] = {}
        for custom in self.custom_identifiers:
            links_by_kind.setdefault(custom.kind, set()).add(custom.links)
        problems += [
            f"custom_identifiers: kind {kind!r} is declared both linking and not linking"
            for kind, flags in links_by_kind.items()
            if len(flags) > 1
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def kinds(self) -> list[str]:
        """Every identifier kind, built-in then custom, in a fixed order."""
        custom = [c.kind for c in self.custom_identifiers]
        return [*BUILTIN_IDENTIFIERS, COMPOSITE_KIND, *dict.fromkeys(custom)]

    def linking_kinds(self) -> list[str]:
        """The kinds whose shared values link records (custom kinds per their ``links`` flag)."""
        custom_links = {c.kind: c.links for c in self.custom_identifiers}
        return [
            kind
            for kind in self.kinds()
            if self.links.get(kind, custom_links.get(kind, False)) and kind != "phone_partial"
        ]

    def trust_rank(self, source: str) -> int:
        """0 for the most trusted source; unlisted sources rank after every listed one."""
        try:
            return self.source_trust.index(source)
        except ValueError:
            return len(self.source_trust)


def rules_path(settings: Settings) -> Path:
    """Where the rules file is: ``Settings.identity_config`` when set, else ``identity.yaml``."""
    configured = getattr(settings, "identity_config", None)
    return Path(configured) if configured is not None else Path("identity.yaml")


def load_rules(path: Path | None) -> IdentityRules:
    """Rules from a YAML file; the defaults when ``path`` is None or does not exist.

    Raises :class:`ConfigError` listing every problem in the file at once.
    """
    if path is None or not path.exists():
        return IdentityRules()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the identity rules must be a mapping")
    try:
        return IdentityRules.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"{path}: invalid identity rules: {problems}") from err
