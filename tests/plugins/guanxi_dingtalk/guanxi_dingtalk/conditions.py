"""A segment condition of the plugin: ``{birthday_month: [5, 6]}`` — customers born in those months."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from guanxi.segments.conditions import ConditionKind
from guanxi.segments.description import say
from guanxi.segments.spec import SpecNode
from guanxi.segments.validation import Problem

if TYPE_CHECKING:
    from guanxi.segments.compiler import Compiler


class BirthdayMonthCondition(SpecNode):
    birthday_month: list[int]


class BirthdayMonth(ConditionKind[BirthdayMonthCondition]):
    """Golden-record birthday in one of the listed months (1–12); shorthand ``birthday_month in [5, 6]``."""

    key = "birthday_month"
    model = BirthdayMonthCondition

    def read_shorthand(self, text: str) -> dict[str, Any] | None:
        match = re.fullmatch(r"\s*birthday_month\s+in\s+\[([\d,\s]+)\]\s*", text)
        return (
            None if match is None else {"birthday_month": [int(m) for m in match[1].split(",") if m.strip()]}
        )

    def validate(self, node: BirthdayMonthCondition, path: str) -> Iterator[Problem]:
        if not node.birthday_month:
            yield Problem(f"{path}.birthday_month", "missing_value", "name at least one month")
        for index, month in enumerate(node.birthday_month):
            if not 1 <= month <= 12:
                yield Problem(
                    f"{path}.birthday_month[{index}]", "wrong_value_type", f"{month} is not a month (1–12)"
                )

    def compile(self, node: BirthdayMonthCondition, compiler: Compiler) -> ir.Table:
        customers = compiler.table("customers")
        return customers.filter(customers.birthday.month().isin(node.birthday_month)).select("customer_id")

    def describe(self, node: BirthdayMonthCondition, locale: str) -> str:
        months = "、".join(f"{m} 月" for m in node.birthday_month)
        english = ", ".join(str(m) for m in node.birthday_month)
        return say(locale, zh=f"生日在 {months}", en=f"birthday in month {english}")
