"""``score``: a column of the latest ``customer_scores`` run, compared with a value.

Long form ``{score: clv, op: ">=", value: 500}``, shorthand ``clv >= 500``
(any ``field op value`` string no other kind reads — so an unknown field is
reported as an unknown score column). The run read is the latest whose
``as_of`` is on or before the compiler's date (latest ``as_of``, then latest
``run_id``); customers without a row in that run match no score condition.
Every column of ``customer_scores`` may be tested, those of plugin models
included: :func:`scores_table` reads the declared columns at call time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from guanxi.errors import NotFoundError
from guanxi.models.declared import customer_scores_spec
from guanxi.segments.conditions.comparison import (
    check_comparison,
    compare,
    describe_comparison,
    read_comparison,
)
from guanxi.segments.conditions.kind import ConditionKind
from guanxi.segments.description import say
from guanxi.segments.spec import SpecNode, Value
from guanxi.segments.validation import Problem
from guanxi.tables import TableSpec

if TYPE_CHECKING:
    from guanxi.segments.compiler import Compiler


def scores_table() -> TableSpec:
    """``customer_scores`` as the registered models declare it now: the one place segments read its columns."""
    return customer_scores_spec()


def score_columns() -> dict[str, str]:
    """Every ``customer_scores`` column a score condition may test, with its Ibis type."""
    return {
        name: kind for name, kind in scores_table().columns.items() if name not in {"customer_id", "run_id"}
    }


LABELS_ZH: dict[str, str] = {
    "as_of": "评分日期",
    "rfm_recency_days": "RFM 最近购买天数",
    "rfm_frequency": "RFM 购买频次",
    "rfm_monetary": "RFM 消费金额",
    "r_score": "R 分",
    "f_score": "F 分",
    "m_score": "M 分",
    "rfm_cell": "RFM 组合",
    "rfm_segment": "RFM 客群",
    "rfm_class": "RFM 分类",
    "contribution": "贡献额",
    "value_rank": "价值排名",
    "pareto_cum_share": "帕累托累计占比",
    "pareto_top": "帕累托头部客户",
    "value_tier": "价值层级",
    "value_score": "价值分",
    "loyalty_purchases": "忠诚度购买次数",
    "regularity": "购买规律性",
    "loyalty_score": "忠诚度分",
    "recent_purchases": "近期购买次数",
    "recent_events": "近期互动次数",
    "activity_score": "活跃度分",
    "value_activity": "价值 × 活跃度",
    "lifecycle_stage": "生命周期阶段",
    "purchases": "购买次数",
    "days_since_last_purchase": "距上次购买天数",
    "expected_interval_days": "预期购买间隔天数",
    "interval_basis": "购买间隔依据",
    "quadrant_frequency": "象限购买频次",
    "average_order_value": "平均客单价",
    "quadrant_group": "频次 × 客单价分组",
    "clv_repeat_purchases": "CLV 复购次数",
    "p_alive": "存活概率",
    "expected_purchases": "预期购买次数",
    "expected_spend": "预期消费金额",
    "clv": "CLV",
    "paid_orders": "已付款订单数",
    "unpaid_rate": "未付款率",
    "refund_rate": "退款率",
    "complaints": "投诉次数",
    "credit_score": "信用分",
    "credit_level": "信用等级",
    "no_cash_coupon": "禁用现金券",
    "points_balance": "积分余额",
    "member_tier": "会员等级",
    "tier_since": "当前等级起始日",
    "top_category": "首选品类",
    "cluster": "画像聚类",
    "cluster_label": "画像类别",
}
"""Chinese names of the built-in models' score columns (a column not named here reads as itself)."""


class ScoreCondition(SpecNode):
    """``score op value`` on the latest ``customer_scores`` run (as of the refresh date)."""

    score: str
    op: str = "="
    value: Value = None


def latest_scores(compiler: Compiler) -> ir.Table:
    """The rows of the latest scores run on or before ``compiler.as_of`` (one small query, once per compile)."""

    def build() -> ir.Table:
        scores = compiler.table(scores_table().name, made_by="guanxi models run")
        runs = scores.filter(scores.as_of <= compiler.as_of).select("as_of", "run_id").distinct()
        latest = runs.order_by([ibis.desc("as_of"), ibis.desc("run_id")]).limit(1).to_pyarrow().to_pylist()
        if not latest:
            raise NotFoundError(
                f"customer_scores has no run on or before {compiler.as_of}; run `guanxi models run`"
            )
        return scores.filter(scores.run_id == str(latest[0]["run_id"]))

    return compiler.memo("score.latest_scores", build)


class Score(ConditionKind[ScoreCondition]):
    key = "score"
    model = ScoreCondition

    def read_shorthand(self, text: str) -> dict[str, Any] | None:
        read = read_comparison(text)
        if read is None:
            return None
        field, rest = read
        return {"score": field, **rest}

    def validate(self, node: ScoreCondition, path: str) -> Iterator[Problem]:
        columns = score_columns()
        if node.score not in columns:
            yield Problem(f"{path}.score", "unknown_column", f"customer_scores has no column {node.score!r}")
            return
        yield from check_comparison(path, node.score, columns[node.score], node.op, node.value)

    def compile(self, node: ScoreCondition, compiler: Compiler) -> ir.Table:
        scores = latest_scores(compiler)
        kind = score_columns()[node.score]
        return scores.filter(compare(scores[node.score], node.op, node.value, kind)).select("customer_id")

    def describe(self, node: ScoreCondition, locale: str) -> str:
        label = say(locale, zh=LABELS_ZH.get(node.score, node.score), en=node.score)
        return describe_comparison(label, node.op, node.value, locale)
