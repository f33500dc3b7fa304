"""What customers did besides buying: service tickets (CSV) and behaviour events (JSON Lines).

Tickets use the ``generic-tickets`` preset's first aliases and Chinese kind
words (咨询/投诉/退货/表扬, 退换货/好评). Events are Segment messages
(``messageId``, ``type``, ``event``, ``userId``, ``anonymousId``,
``timestamp`` in UTC with milliseconds, ``properties`` or ``traits``) plus the
identifiers the brand's own tracker adds (``channel``, ``phone``, ``email``,
``wechat_openid``, ``wechat_unionid``). Broken rows: tickets with an unreadable time or no id;
events with ``"Invalid Date"`` as timestamp, or a line cut short by a crash.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from guanxi.demo import textcols as tc
from guanxi.demo.dataset import DemoDataset
from guanxi.demo.exports.cells import BAD_TIMES, times
from guanxi.demo.exports.formats import json_lines, write_csv, write_text
from guanxi.demo.exports.manifest import ExportContext, ExportedFile, PlannedImport
from guanxi.demo.fulfilment import NO_TIME

TICKET_HEADERS = (
    "ticket_id",
    "source_customer_id",
    "phone",
    "email",
    "order_id",
    "kind",
    "channel",
    "status",
    "satisfaction",
    "subject",
    "created_at",
    "resolved_at",
    "agent",
)


def export_tickets(data: DemoDataset, ctx: ExportContext) -> list[ExportedFile]:
    """Write ``service_tickets.csv`` (UTF-8 with BOM)."""
    t = data.tickets
    n = t.num_rows
    defect = t.column("defect").to_numpy()
    cells = {name: t.column(name) for name in TICKET_HEADERS if name not in {"created_at", "resolved_at"}}
    cells["satisfaction"] = t.column("satisfaction").cast(pa.string())
    created = t.column("created_at").cast(pa.int64()).to_numpy()
    resolved = t.column("resolved_at")
    cells["created_at"] = tc.where(
        defect == 1, tc.pick(BAD_TIMES, np.arange(n) % len(BAD_TIMES)), times(created)
    )
    cells["resolved_at"] = times(np.asarray(pc.fill_null(resolved.cast(pa.int64()), NO_TIME).to_numpy()))
    cells["ticket_id"] = tc.where(defect == 2, "", cells["ticket_id"])
    path = ctx.path("service_tickets.csv")
    rows = write_csv(path, TICKET_HEADERS, [cells[h] for h in TICKET_HEADERS], encoding="utf-8-sig")
    return [
        ExportedFile(
            path, "客服工单", "csv (UTF-8 BOM)", rows, (PlannedImport("tickets", "generic-tickets"),)
        )
    ]


def export_events(data: DemoDataset, ctx: ExportContext) -> list[ExportedFile]:
    """Write ``events.jsonl`` (Segment-style messages, one per line)."""
    e = data.events
    defect = e.column("defect").to_numpy()
    utc = e.column("occurred").to_numpy() - ctx.utc_offset
    stamp = tc.concat(
        tc.clock_text(utc, separator="T"), ".", tc.digits(e.column("millis").to_numpy(), 3), "Z"
    )
    stamp = tc.where(defect == 1, "Invalid Date", stamp)
    raw = {"properties", "traits"}
    columns = {
        "messageId": "message_id",
        "type": "type",
        "event": "event",
        "userId": "user_id",
        "anonymousId": "anonymous_id",
        "timestamp": None,
        "channel": "channel",
        "properties": "properties",
        "traits": "traits",
        "phone": "phone",
        "email": "email",
        "wechat_openid": "openid",
        "wechat_unionid": "unionid",
    }
    lines = json_lines(
        [
            (key, stamp if name is None else e.column(name).combine_chunks(), key in raw)
            for key, name in columns.items()
        ]
    )
    # A line cut short when the tracker crashed mid-write.
    cut = tc.concat('{"messageId":"', e.column("message_id").combine_chunks(), '","typ\n')
    lines = tc.where(defect == 2, cut, lines)
    path = ctx.path("events.jsonl")
    rows = write_text(path, lines)
    return [
        ExportedFile(path, "行为事件 (Segment)", "jsonl", rows, (PlannedImport("events", "generic-events"),))
    ]
