"""Steps 2–5 of an import: map, normalise, validate, combine (see :mod:`guanxi.ingest.api`).

Works on the staged temp table ``_gx_src`` of a raw DuckDB connection and
leaves three temp tables behind for the merge:

* ``_gx_norm``   — one row per readable input row: ``_row``, ``r_<field>`` (the
  text as read) and ``v_<field>`` (the canonical value) for each mapped field;
* ``_gx_issues`` — ``_row, field, value, reason, severity`` (field names only;
  the header each field was read from is in ``_gx_headers``, filled with
  parameters so that no header text becomes SQL);
* ``_gx_final``  — the rows to merge, one per natural key, in the raw table's
  columns that this file provides (:attr:`Transform.provided`).
"""

from __future__ import annotations

from typing import Any

from guanxi.config import Settings
from guanxi.ingest import contacts, normalize
from guanxi.ingest.divisions import parse_addresses
from guanxi.ingest.fields import ENUM_VALUES, INVALID_REASON, RULES, Rule, severity
from guanxi.ingest.preset import REQUIRED, Mapping
from guanxi.ingest.reader import StagedFile
from guanxi.tables import RAW_TABLES

_PLACE = ("province", "city", "district", "address")
_PAID_LIKE = "('paid', 'shipped', 'delivered', 'refunded')"
_FOLD_TABLE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold_word(word: str) -> str:
    """The Python twin of :func:`normalize.text` for mapping words (fold, trim, collapse spaces)."""
    return " ".join(word.translate(_FOLD_TABLE).split())


class Transform:
    """Normalise, validate and combine one staged file for one import kind."""

    def __init__(
        self, con: Any, settings: Settings, kind: str, mapping: Mapping, staged: StagedFile, source: str
    ) -> None:
        self.con = con
        self.settings = settings
        self.kind = kind
        self.mapping = mapping
        self.staged = staged
        self.source = source
        self.spec = RAW_TABLES[kind]
        # field -> staged columns holding it (in preference order), and the header shown to users
        self.sources: dict[str, list[str]] = {}
        self.header_of: dict[str, str] = {}
        for field_name, headers in mapping.columns.items():
            cols = [c for h in headers if (c := staged.column_for(h)) is not None]
            if cols:
                self.sources[field_name] = cols
                self.header_of[field_name] = next(h for h in headers if staged.column_for(h) is not None)
        used = {c for cols in self.sources.values() for c in cols}
        self.unmapped = [(h, f"c{i}") for i, h in enumerate(staged.headers) if f"c{i}" not in used and h]

    # ------------------------------------------------------------------ helpers
    def mapped(self, field_name: str) -> bool:
        return field_name in self.sources

    def rule(self, field_name: str) -> Rule:
        """The rule for a field of this kind (a ticket's status is free text, not an order status)."""
        if self.kind == "tickets" and field_name == "status":
            return "text"
        return RULES[field_name]

    def _raw_expr(self, field_name: str) -> str:
        parts = [f"nullif(trim({c}), '')" for c in self.sources[field_name]]
        if len(parts) == 1:
            return parts[0]
        if field_name == "phone":
            # A masked mobile in one column must not hide a readable number in another.
            readable = [f"CASE WHEN {normalize.masked_phone(p)} IS NULL THEN {p} END" for p in parts]
            return f"coalesce({', '.join(readable + parts)})"
        return f"coalesce({', '.join(parts)})"

    def _value_expr(self, field_name: str) -> str:
        ref = f"r_{field_name}"
        rule = self.rule(field_name)
        zone = self.settings.timezone
        if rule == "id":
            return normalize.identifier(ref)
        if rule == "text":
            return normalize.person_name(ref) if field_name in {"name", "buyer_name"} else normalize.text(ref)
        if rule == "lower":
            return normalize.lower_text(ref)
        if rule == "upper":
            return f"upper({normalize.text(ref)})"
        if rule == "timestamp":
            return normalize.timestamp(ref, zone)
        if rule == "date":
            return normalize.date(ref)
        if rule == "amount":
            return normalize.amount(ref)
        if rule == "integer":
            if field_name == "satisfaction":
                return f"CASE WHEN {normalize.integer(ref)} BETWEEN 1 AND 5 THEN {normalize.integer(ref)} END"
            return normalize.integer(ref)
        if rule == "gender":
            return normalize.gender(ref)
        if rule == "enum":
            return f"vm_{field_name}.value"
        if rule == "json":
            return f"CASE WHEN json_valid({ref}) THEN {ref} END"
        if rule == "phone":
            return normalize.fast_mobile(ref)
        if rule == "email":
            return normalize.fast_email(ref)
        raise AssertionError(rule)

    # --------------------------------------------------------------- normalise
    def normalise(self) -> None:
        """Build ``_gx_norm`` from ``_gx_src``."""
        con = self.con
        params: dict[str, Any] = {}
        extra = "NULL"
        if self.unmapped:
            pairs = []
            for i, (header, col) in enumerate(self.unmapped):
                params[f"k{i}"] = header
                pairs.append(f"$k{i}, {col}")
            extra = f"CAST(json_object({', '.join(pairs)}) AS VARCHAR)"
        raw_cols = ", ".join(f"{self._raw_expr(f)} AS r_{f}" for f in self.sources)
        if self.mapped("phone"):
            masked = [normalize.masked_phone(f"nullif(trim({c}), '')") for c in self.sources["phone"]]
            raw_cols += f", coalesce({', '.join(masked)}) AS r_phone_partial"
        # The mapped text columns are a subquery, not a table: one pass over the staged file.
        mapped = f"(SELECT _row, {raw_cols}, {extra} AS extra FROM _gx_src)"
        joins = self._lookup_tables()
        timed = [f for f in self.sources if self.rule(f) in ("timestamp", "date")]
        values = ", ".join(f"{self._value_expr(f)} AS {'p' if f in timed else 'v'}_{f}" for f in self.sources)
        extra_cols = ""
        if self.mapped("phone"):
            extra_cols += ", r_phone_partial AS v_phone_partial"
        # Times are parsed once in the inner projection and range-checked in the outer one.
        checked = "".join(
            f", {normalize.plausible_time('p_' + f)}{'::DATE' if self.rule(f) == 'date' else ''} AS v_{f}"
            for f in timed
        )
        drop = f" EXCLUDE ({', '.join('p_' + f for f in timed)})" if timed else ""
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _gx_norm AS
            SELECT *{drop}{checked} FROM (SELECT m.*, {values}{extra_cols} FROM {mapped} m {joins})""",  # noqa: S608
            params,
        )
        self._library_fallbacks()
        if self.has_places:
            self._parse_places()

    def _library_fallbacks(self) -> None:
        """Phones and e-mails the SQL fast path left empty: each distinct text once through the library.

        Runs on the materialised ``_gx_norm`` and patches only the rows concerned.
        """
        con = self.con
        checks: list[tuple[str, str, str]] = []
        if self.mapped("phone"):
            # A masked phone (138****1234) is a partial identifier, never a phone.
            checks.append(("phone", "_gx_phone", f"{normalize.masked_phone('r_phone')} IS NULL"))
        if self.mapped("email"):
            checks.append(("email", "_gx_email", "TRUE"))
        for field_name, table, extra_condition in checks:
            leftovers = [
                str(r[0])
                for r in con.execute(
                    f"""SELECT DISTINCT r_{field_name} FROM _gx_norm
                    WHERE r_{field_name} IS NOT NULL AND v_{field_name} IS NULL AND {extra_condition}"""
                ).fetchall()
            ]
            if not leftovers:
                continue
            if field_name == "phone":
                pairs = contacts.phone_table(leftovers, self.settings.default_region)
            else:
                pairs = contacts.email_table(leftovers)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (raw VARCHAR PRIMARY KEY, value VARCHAR)")
            con.executemany(f"INSERT INTO {table} VALUES (?, ?)", [list(p) for p in pairs])
            con.execute(
                f"""UPDATE _gx_norm SET v_{field_name} = f.value FROM {table} f
                WHERE f.raw = _gx_norm.r_{field_name} AND _gx_norm.v_{field_name} IS NULL AND f.value IS NOT NULL"""
            )

    def _raw_column(self, field_name: str) -> str:
        """A subquery of one field's text as read: ``(SELECT … AS r_<field> FROM _gx_src)``."""
        return f"(SELECT {self._raw_expr(field_name)} AS r_{field_name} FROM _gx_src)"

    def _lookup_tables(self) -> str:
        """Build value-map and contact fallback tables; return the JOIN clauses using them."""
        con = self.con
        joins = []
        for field_name in ("status", "kind"):
            if self.mapped(field_name) and self.rule(field_name) == "enum":
                table = f"_gx_vm_{field_name}"
                con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (word VARCHAR PRIMARY KEY, value VARCHAR)")
                words: dict[str, str] = {}
                for word, value in self.mapping.value_map.get(field_name, {}).items():
                    words[word.strip()] = value
                    words.setdefault(fold_word(word), value)
                if words:
                    con.executemany(f"INSERT INTO {table} VALUES (?, ?)", [[w, v] for w, v in words.items()])  # noqa: S608
                # Resolve each distinct word once (as read, then folded), then equi-join on the raw text.
                low = normalize.lower_text("d.raw")
                canonical = ", ".join(f"'{v}'" for v in ENUM_VALUES[field_name])
                con.execute(
                    f"""CREATE OR REPLACE TEMP TABLE {table}_resolved AS
                    SELECT d.raw, coalesce(w1.value, w2.value, CASE WHEN {low} IN ({canonical}) THEN {low} END) AS value
                    FROM (SELECT DISTINCT r_{field_name} AS raw FROM {self._raw_column(field_name)}
                          WHERE r_{field_name} IS NOT NULL) d
                    LEFT JOIN {table} w1 ON w1.word = d.raw
                    LEFT JOIN {table} w2 ON w2.word = {normalize.text("d.raw")}"""
                )
                joins.append(
                    f"LEFT JOIN {table}_resolved vm_{field_name} ON vm_{field_name}.raw = m.r_{field_name}"
                )
        return " ".join(joins)

    def _place_text(self, alias: str) -> str:
        """The address text to parse: the parts the file has, in order, without repeating a prefix."""
        parts = [f"coalesce({alias}v_{p}, '')" for p in _PLACE if self.mapped(p)]
        whole = parts[0] if len(parts) == 1 else f"concat({', '.join(parts)})"
        if self.mapped("address") and len(parts) > 1:
            lead = next(f"{alias}v_{p}" for p in _PLACE if self.mapped(p))
            whole = (
                f"CASE WHEN {alias}v_address IS NOT NULL AND starts_with({alias}v_address, coalesce({lead}, chr(1))) "
                f"THEN {alias}v_address ELSE {whole} END"
            )
        return f"nullif({whole}, '')"

    @property
    def has_places(self) -> bool:
        return any(self.mapped(p) for p in _PLACE) and "province" in self.spec.columns

    def _parse_places(self) -> None:
        """Build ``_gx_addr_out`` (address text → province, city, district) for the distinct addresses."""
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _gx_addr_in AS SELECT DISTINCT {self._place_text('')} AS addr FROM _gx_norm"
        )
        parse_addresses(self.con, "_gx_addr_in", "_gx_addr_out")

    # ---------------------------------------------------------------- validate
    def validate(self) -> None:
        """Build ``_gx_issues`` (every problem of every row) and ``_gx_good`` (rows without a fatal one)."""
        checks: list[str] = []
        for field_name in self.sources:
            rule = self.rule(field_name)
            reason = INVALID_REASON.get(rule)
            if reason is None:
                continue
            if field_name == "status":
                reason = "unknown_status"
            condition = f"r_{field_name} IS NOT NULL AND v_{field_name} IS NULL"
            if field_name == "satisfaction":
                condition = f"r_{field_name} IS NOT NULL AND {normalize.integer('r_' + field_name)} IS NULL"
            if rule == "phone":
                condition += " AND v_phone_partial IS NULL"
            if rule == "gender":
                unknown = ", ".join(f"'{w}'" for w in normalize.GENDER_UNKNOWN_WORDS)
                condition += f" AND lower(trim(r_gender)) NOT IN ({unknown})"
            checks.append(self._issue(field_name, condition, reason))
            if rule == "amount":
                checks.append(self._issue(field_name, f"v_{field_name} < 0", "negative_amount"))
        if self.mapped("satisfaction"):
            readable = normalize.integer("r_satisfaction")
            checks.append(
                self._issue(
                    "satisfaction", f"{readable} IS NOT NULL AND v_satisfaction IS NULL", "out_of_range"
                )
            )
        key_fields = [k for k in self.spec.key if k != "source" and self.mapped(k)]
        for group in REQUIRED[self.kind]:
            present = [f for f in group if self.mapped(f)]
            if not present:
                continue
            if key_fields and not set(present) & set(self.spec.key):
                # Line-item exports fill order-level columns on one line of the order only:
                # a value is missing when no row with the same key has it.
                window = f"PARTITION BY {', '.join(f'v_{k}' for k in key_fields)}"
                counted = ", ".join(f"count(r_{f}) OVER ({window}) AS _n_{f}" for f in present)
                condition = " AND ".join(f"_n_{f} = 0" for f in present)
                checks.append(
                    f"SELECT _row, '{present[0]}' AS field, NULL AS value, 'missing_value' AS reason, "
                    f"'fatal' AS severity FROM (SELECT _row, {counted} FROM _gx_norm) WHERE {condition}"
                )
            else:
                condition = " AND ".join(f"v_{f} IS NULL AND r_{f} IS NULL" for f in present)
                checks.append(self._issue(present[0], condition, "missing_value", "fatal"))
        if self.kind == "customers":
            ids = [f"v_{f}" for f in self.customer_id_candidates()]
            condition = " AND ".join(f"{c} IS NULL" for c in ids) if ids else "TRUE"
            checks.append(self._issue("source_customer_id", condition, "no_identifier", "fatal"))
        union = (
            " UNION ALL ".join(checks)
            if checks
            else (
                "SELECT NULL::BIGINT AS _row, NULL AS field, NULL AS value, "
                "NULL AS reason, NULL AS severity WHERE FALSE"
            )
        )
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _gx_issues AS {union}")
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE _gx_headers (field VARCHAR PRIMARY KEY, column_name VARCHAR)"
        )
        self.con.executemany(
            "INSERT INTO _gx_headers VALUES (?, ?)", [list(p) for p in self.header_of.items()]
        )
        self.con.execute(
            """CREATE OR REPLACE TEMP VIEW _gx_good AS
            SELECT * FROM _gx_norm
            ANTI JOIN (SELECT DISTINCT _row FROM _gx_issues WHERE severity = 'fatal') USING (_row)"""
        )

    def _issue(self, field_name: str, condition: str, reason: str, level: str | None = None) -> str:
        value = f"CAST(r_{field_name} AS VARCHAR)" if self.mapped(field_name) else "NULL"
        return (
            f"SELECT _row, '{field_name}' AS field, {value} AS value, "
            f"'{reason}' AS reason, '{level or severity(field_name)}' AS severity FROM _gx_norm WHERE {condition}"
        )

    def customer_id_candidates(self) -> list[str]:
        # Platform ids are stable; contacts change, so they come last.
        order = [
            "source_customer_id",
            "member_no",
            "wechat_unionid",
            "wechat_openid",
            "taobao_id",
            "jd_id",
            "qq",
            "email",
            "phone",
        ]
        return [f for f in order if self.mapped(f)]

    # ----------------------------------------------------------------- combine
    @property
    def provided(self) -> list[str]:
        """Raw-table columns this file sets (mapped, or derived from mapped ones), key first."""
        business = [c for c in self.spec.columns if c not in {"batch_id", "ingested_at", "row_hash"}]
        derived = set(self.spec.key) | {"extra"}
        if self.mapped("phone"):
            derived.add("phone_partial")
        if any(self.mapped(p) for p in _PLACE) and "province" in self.spec.columns:
            derived |= {"province", "city", "district"}
        if self.kind == "orders":
            derived |= {"source_customer_id", "status", "currency", "total_amount", "paid_amount"}
        if self.kind == "order-items":
            derived |= {"quantity", "amount", "item_key"}
        if self.kind == "events":
            derived |= {"type"}
        return [c for c in business if c in derived or self.mapped(c)]

    def _final_exprs(self) -> dict[str, str]:
        """SQL for each provided column over ``_gx_good`` (aliases ``v_*``)."""
        exprs: dict[str, str] = {c: f"v_{c}" for c in self.provided if self.mapped(c)}
        exprs["source"] = "coalesce(v_source, $source)" if self.mapped("source") else "$source"
        exprs["extra"] = "extra"
        if "phone_partial" in self.provided:
            exprs["phone_partial"] = "v_phone_partial"
        for place in ("province", "city", "district"):
            if place in self.provided:
                explicit = f"v_{place}" if self.mapped(place) else "NULL"
                exprs[place] = f"coalesce(a_{place}, {explicit})"
        m = self.mapped
        if self.kind == "orders":
            status = "v_status" if m("status") else "NULL"
            times = (
                "CASE WHEN {d} IS NOT NULL THEN 'delivered' WHEN {s} IS NOT NULL THEN 'shipped' "
                "WHEN {p} IS NOT NULL THEN 'paid' ELSE 'created' END"
            ).format(
                d="v_delivered_at" if m("delivered_at") else "NULL",
                s="v_shipped_at" if m("shipped_at") else "NULL",
                p="v_paid_at" if m("paid_at") else "NULL",
            )
            refunded = (
                f"{status} = 'cancelled' AND v_paid_at IS NOT NULL AND coalesce(v_refund_amount, 0) > 0"
                if m("paid_at") and m("refund_amount")
                else "FALSE"
            )
            exprs["status"] = f"CASE WHEN {refunded} THEN 'refunded' ELSE coalesce({status}, {times}) END"
            buyer = [f"v_{f}" for f in ("source_customer_id", "phone", "email") if m(f)]
            exprs["source_customer_id"] = (
                f"coalesce({', '.join([*buyer, chr(39) + 'order:' + chr(39) + ' || v_order_id'])})"
            )
            exprs["currency"] = "coalesce(v_currency, $currency)" if m("currency") else "$currency"
            total, paid, discount = (
                f"v_{f}" if m(f) else "NULL" for f in ("total_amount", "paid_amount", "discount_amount")
            )
            exprs["total_amount"] = f"coalesce({total}, {paid} + coalesce({discount}, 0))"
            exprs["paid_amount"] = (
                f"coalesce({paid}, CASE WHEN ({exprs['status']}) IN {_PAID_LIKE} THEN {total} END)"
            )
        elif self.kind == "order-items":
            sku, product = ("v_sku" if m("sku") else "NULL"), ("v_product" if m("product") else "NULL")
            exprs["item_key"] = f"coalesce({sku}, 'p:' || md5({product}))"
            exprs["quantity"] = "coalesce(v_quantity, 1)" if m("quantity") else "1"
            price = "v_price" if m("price") else "NULL"
            exprs["amount"] = (
                f"coalesce(v_amount, {price} * {exprs['quantity']})"
                if m("amount")
                else f"{price} * {exprs['quantity']}"
            )
        elif self.kind == "events":
            exprs["type"] = "coalesce(v_type, 'track')" if m("type") else "'track'"
            if not m("event_id"):
                parts = ", ".join(f"CAST(v_{f} AS VARCHAR)" for f in self.sources)
                exprs["event_id"] = f"'h:' || md5(concat_ws('|', {parts}))"
            else:
                parts = ", ".join(f"CAST(v_{f} AS VARCHAR)" for f in self.sources if f != "event_id")
                exprs["event_id"] = f"coalesce(v_event_id, 'h:' || md5(concat_ws('|', {parts})))"
        elif self.kind == "customers":
            exprs["source_customer_id"] = (
                f"coalesce({', '.join(f'v_{f}' for f in self.customer_id_candidates())})"
            )
        return exprs

    def combine(self) -> None:
        """Build ``_gx_final``: one row per natural key; conflicting duplicates become issues.

        Three steps, so that values derived from several fields (an order's status from
        its times, its currency) are derived once per record, not per input line:
        the key of every row; the first non-empty mapped value per key; the derivations.
        """
        con = self.con
        exprs = self._final_exprs()
        params = {"source": self.source, "currency": self.settings.currency}
        key_cols = list(self.spec.key)
        keys = ", ".join(f"{exprs[k]} AS {k}" for k in key_cols)
        carried = [f"v_{f}" for f in self.sources]
        if self.mapped("phone"):
            carried.append("v_phone_partial")
        places = ""
        if self.has_places:
            carried += ["a_province", "a_city", "a_district"]
            places = (
                "LEFT JOIN (SELECT addr, province AS a_province, city AS a_city, district AS a_district "
                f"FROM _gx_addr_out) a ON a.addr = {self._place_text('g.')}"
            )
        carried.append("extra")
        values = ", ".join(c if c.startswith("a_") else f"g.{c}" for c in carried)
        rows_sql = f"SELECT g._row, {keys}, {values} FROM _gx_good g {places}"
        key_params = {k: v for k, v in params.items() if f"${k}" in keys}
        key = ", ".join(key_cols)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _gx_dupkeys AS
            SELECT {key} FROM (SELECT {keys} FROM _gx_good g) GROUP BY {key} HAVING count(*) > 1""",  # noqa: S608
            key_params,
        )
        if con.execute("SELECT count(*) FROM _gx_dupkeys").fetchone()[0] > 0:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _gx_rows AS {rows_sql}", key_params)
            firsts = ", ".join(f"arg_min({c}, _row) FILTER (WHERE {c} IS NOT NULL) AS {c}" for c in carried)
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _gx_combined AS
                SELECT {key}, min(_row) AS _row, {firsts}
                FROM _gx_rows SEMI JOIN _gx_dupkeys USING ({key}) GROUP BY {key}"""  # noqa: S608
            )
            # A later row whose non-empty value differs from the chosen one keeps its value in the quarantine.
            conflict_checks = [
                f"""SELECT r._row, '{f}' AS field, CAST(r.v_{f} AS VARCHAR) AS value,
                           'duplicate_key_conflict' AS reason, 'warning' AS severity
                    FROM _gx_rows r JOIN _gx_combined k USING ({key})
                    WHERE r.v_{f} IS NOT NULL AND r.v_{f} IS DISTINCT FROM k.v_{f}"""
                for f in self.sources
                if f not in key_cols
            ]
            if conflict_checks:
                con.execute(f"INSERT INTO _gx_issues {' UNION ALL '.join(conflict_checks)}")
            merged = (
                f"(SELECT * FROM _gx_rows ANTI JOIN _gx_dupkeys USING ({key}) "
                "UNION ALL BY NAME SELECT * FROM _gx_combined)"
            )
        else:
            merged = f"({rows_sql})"  # no key repeats: derive straight from the good rows
        derived = ", ".join(c if c in key_cols else f"{exprs[c]} AS {c}" for c in self.provided)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _gx_final AS SELECT {derived} FROM {merged}",  # noqa: S608
            {k: v for k, v in params.items() if f"${k}" in derived or f"${k}" in merged},
        )
