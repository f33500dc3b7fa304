"""Which rule reads each canonical field, and what a bad value costs.

``FATAL`` problems quarantine the whole row (an order with an unreadable time
or amount would be wrong everywhere downstream); ``WARNING`` problems drop only
the cell (a customer with a malformed e-mail is still a customer) and record the
value in the quarantine table with severity ``warning``, so nothing is lost.
"""

from __future__ import annotations

from typing import Literal

Rule = Literal[
    "id",
    "text",
    "lower",
    "upper",
    "timestamp",
    "date",
    "amount",
    "integer",
    "gender",
    "phone",
    "email",
    "enum",
    "json",
]
Severity = Literal["fatal", "warning"]

RULES: dict[str, Rule] = {
    **dict.fromkeys(
        [
            "source_customer_id",
            "order_id",
            "sku",
            "event_id",
            "ticket_id",
            "anonymous_id",
            "wechat_appid",
            "wechat_openid",
            "wechat_unionid",
            "qq",
            "taobao_id",
            "jd_id",
            "member_no",
        ],
        "id",
    ),
    **dict.fromkeys(
        [
            "name",
            "buyer_name",
            "company",
            "title",
            "address",
            "province",
            "city",
            "district",
            "store",
            "channel",
            "product_title",
            "product",
            "category",
            "brand",
            "subject",
            "event",
        ],
        "text",
    ),
    "source": "lower",
    "type": "lower",
    "currency": "upper",
    **dict.fromkeys(
        [
            "registered_at",
            "updated_at",
            "created_at",
            "paid_at",
            "shipped_at",
            "delivered_at",
            "occurred_at",
            "resolved_at",
        ],
        "timestamp",
    ),
    "birthday": "date",
    **dict.fromkeys(
        [
            "total_amount",
            "paid_amount",
            "discount_amount",
            "refund_amount",
            "shipping_fee",
            "price",
            "amount",
        ],
        "amount",
    ),
    **dict.fromkeys(["item_count", "quantity", "satisfaction"], "integer"),
    "gender": "gender",
    "phone": "phone",
    "email": "email",
    "status": "enum",
    "kind": "enum",
    "properties": "json",
}

WARNING_FIELDS = frozenset(
    {"phone", "email", "gender", "birthday", "registered_at", "updated_at", "satisfaction"}
)
"""Fields whose bad values drop the cell, not the row."""

REASONS: dict[str, str] = {
    "malformed_row": "the file format could not read this row (wrong number of fields, not a JSON object)",
    "missing_value": "a required value is empty",
    "invalid_datetime": "not a date/time in a known format",
    "invalid_date": "not a date in a known format",
    "invalid_amount": "not an amount of money",
    "negative_amount": "an amount below zero",
    "invalid_integer": "not a whole number",
    "out_of_range": "a number outside the allowed range",
    "invalid_phone": "not a valid phone number",
    "invalid_email": "not a valid e-mail address",
    "unknown_gender": "not a recognised gender",
    "unknown_status": "an order status the mapping does not know",
    "unknown_value": "a value the mapping does not know",
    "invalid_json": "not valid JSON",
    "no_identifier": "the row has no id, phone, e-mail or other identifier",
    "duplicate_key_conflict": "another row in the file has the same key with a different value here",
}
"""Every quarantine reason code and what it means (shown in reports and docs)."""

INVALID_REASON: dict[Rule, str] = {
    "timestamp": "invalid_datetime",
    "date": "invalid_date",
    "amount": "invalid_amount",
    "integer": "invalid_integer",
    "gender": "unknown_gender",
    "phone": "invalid_phone",
    "email": "invalid_email",
    "enum": "unknown_value",
    "json": "invalid_json",
}

ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "status": ("created", "unpaid", "paid", "shipped", "delivered", "refunded", "cancelled"),
    "kind": ("inquiry", "complaint", "return", "praise"),
}


def severity(field: str) -> Severity:
    return "warning" if field in WARNING_FIELDS else "fatal"
