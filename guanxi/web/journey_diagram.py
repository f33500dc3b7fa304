"""旅程图: a journey's step graph drawn as an inline SVG on the server (no script, no library, no CDN).

Two pure steps:

* :func:`layout` places the graph. A step's *layer* (its row, top to bottom) is
  the longest path to it from the first step, so every arrow points down;
  steps of one layer (the ways out of a branch) sit side by side. A start pill
  (the trigger) is above the first step and one "end" terminal below the last
  layer. An arrow that skips layers runs through one invisible waypoint per
  layer it crosses, so it never cuts through a box; the order within each layer
  is chosen to keep arrows from crossing (barycentre sweeps) and each box sits
  over the middle of the boxes that lead to it.
* :func:`render_svg` draws it: a box per step with its label (wrapped on two
  lines at most, the whole label in a tooltip), its kind and its counts
  (here / done / waiting, and failed when any), arrows labelled with the exit
  they take (``then``/``else``, a variant's name, ``on_event``/``on_timeout``;
  the plain ``next`` goes unlabelled). Every text is escaped; colours are SVG
  presentation attributes, so the page's CSP (no inline style) holds.

The graph is a DAG (the definition is checked for loops before it is saved);
should a stored one hold a loop anyway, the edge that closes it is dropped
rather than looping the layout. Units are CSS pixels.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from guanxi.marketing.journeys.service import StepStatus

START, END = "__start__", "__end__"
BOX_W, BOX_H = 236, 100
PILL_H = 36
END_W = 112
DUMMY_W = 8
H_GAP, V_GAP, MARGIN = 40, 64, 16
LABEL_SIZE, SMALL_SIZE = 14, 12
CENTRED_UP_TO = 1100
"""A diagram at most this wide fills its container's width, centred (never scaled up: the height is
fixed); a wider one keeps its size and the container scrolls."""
PORT_SPREAD = 56
"""Distance between the start points of the arrows leaving one box."""

KIND_COLOURS = {
    "send": ("#fbeaea", "#8f1c22"),
    "task": ("#f1ebfd", "#5b3aa8"),
    "tag": ("#e8f5ec", "#17663a"),
    "points": ("#e8f5ec", "#17663a"),
    "webhook": ("#eef1f5", "#3b4a63"),
    "wait": ("#fff4e0", "#8a5300"),
    "wait_event": ("#fff4e0", "#8a5300"),
    "branch": ("#eaf1fd", "#1d4f9c"),
    "split": ("#eaf1fd", "#1d4f9c"),
    "exit": ("#f2f4f7", "#475467"),
}
"""Step kind → (chip background, chip ink); other kinds take the exit's grey."""
INK, MUTED, LINE, ACCENT, ERROR = "#1f2430", "#667085", "#d0d5dd", "#2f6fd6", "#a4161a"
ARROW = "#8d96a7"


@dataclass
class Box:
    """A node placed: ``x`` is its centre, ``y`` its top; ``step`` is None for start, end and waypoints."""

    key: str
    layer: int
    width: float
    height: float
    step: StepStatus | None = None
    x: float = 0.0
    y: float = 0.0

    @property
    def waypoint(self) -> bool:
        return self.key.startswith("~")


@dataclass
class Edge:
    """One arrow: ``points`` run from the source's bottom through each waypoint to the target's top."""

    source: str
    target: str
    exit: str
    """The exit label as the step kind names it (``next``, ``then``, ``else``, a variant …)."""
    via: list[str] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Diagram:
    width: float
    height: float
    boxes: dict[str, Box]
    edges: list[Edge]


def text_width(text: str, size: float) -> float:
    """An estimate of ``text``'s width at font ``size``: CJK and full-width characters 1 em, others less."""
    ems = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            ems += 1.0
        elif char == " ":
            ems += 0.3
        elif char.isupper() or char.isdigit():
            ems += 0.64
        else:
            ems += 0.56
    return ems * size


def wrap(text: str, width: float, size: float, lines: int = 2) -> list[str]:
    """``text`` in at most ``lines`` lines of ``width``, broken at a space when one is near, the last one
    ending in ``…`` when it does not fit."""
    found: list[str] = []
    rest = text.strip()
    while rest and len(found) < lines:
        if text_width(rest, size) <= width:
            found.append(rest)
            return found
        cut = 1
        while cut < len(rest) and text_width(rest[: cut + 1], size) <= width:
            cut += 1
        space = rest.rfind(" ", 0, cut + 1)
        if space > cut // 2:
            cut = space
        if len(found) == lines - 1:
            line = rest[:cut]
            while line and text_width(line + "…", size) > width:
                line = line[:-1]
            found.append(line.rstrip() + "…")
            return found
        found.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return found


# ---- layout ------------------------------------------------------------------------------------------------


def _edges_of(steps: Sequence[StepStatus]) -> list[Edge]:
    names = {step.name for step in steps}
    edges = [Edge(START, steps[0].name, "start")] if steps else []
    for step in steps:
        for label, target in step.exits:
            if target is None:
                edges.append(Edge(step.name, END, label))
            elif target in names:
                edges.append(Edge(step.name, target, label))
    return edges


def _drop_loops(edges: list[Edge]) -> list[Edge]:
    """The edges without those that close a loop (depth-first from the start, in the steps' order)."""
    out: dict[str, list[Edge]] = {}
    for edge in edges:
        out.setdefault(edge.source, []).append(edge)
    state: dict[str, int] = {}
    kept: list[Edge] = []

    def visit(node: str) -> None:
        state[node] = 1
        for edge in out.get(node, []):
            if state.get(edge.target) == 1:
                continue
            kept.append(edge)
            if edge.target not in state:
                visit(edge.target)
        state[node] = 2

    visit(START)
    for node in out:
        if node not in state:
            visit(node)
    return [edge for edge in edges if edge in kept]


def _layers(nodes: Sequence[str], edges: Sequence[Edge]) -> dict[str, int]:
    """Longest path from the start to each node (the end terminal below everything)."""
    layer = dict.fromkeys(nodes, 0)
    for _ in range(len(nodes)):
        changed = False
        for edge in edges:
            if edge.target != END and layer[edge.target] < layer[edge.source] + 1:
                layer[edge.target] = layer[edge.source] + 1
                changed = True
        if not changed:
            break
    if END in layer:
        layer[END] = max(value for node, value in layer.items() if node != END) + 1
    return layer


def _order(rows: list[list[str]], edges: Sequence[Edge], sweeps: int = 4) -> None:
    """Reorder each row (in place) by the barycentre of its neighbours, down then up, ``sweeps`` times.

    Neighbours count at their position plus a small offset per exit, so a branch's
    ``then`` stays left of its ``else``; ties keep the current order.
    """
    segments: list[tuple[str, str, float]] = []
    for edge in edges:
        chain = [edge.source, *edge.via, edge.target]
        siblings = [e for e in edges if e.source == edge.source]
        offset = (siblings.index(edge) - (len(siblings) - 1) / 2) * 0.1
        for upper, lower in zip(chain, chain[1:], strict=False):
            segments.append((upper, lower, offset if upper == edge.source else 0.0))
    for sweep in range(sweeps * 2):
        downwards = sweep % 2 == 0
        position = {node: index for row in rows for index, node in enumerate(row)}
        sequence = range(1, len(rows)) if downwards else range(len(rows) - 2, -1, -1)
        for index in sequence:
            row = rows[index]
            wanted: dict[str, list[float]] = {node: [] for node in row}
            for upper, lower, offset in segments:
                if downwards and lower in wanted:
                    wanted[lower].append(position[upper] + offset)
                elif not downwards and upper in wanted:
                    wanted[upper].append(position[lower] - offset)
            centre = {n: sum(v) / len(v) if v else position[n] for n, v in wanted.items()}
            row.sort(key=lambda node: centre[node])
            position.update({node: i for i, node in enumerate(row)})


def _gap(left: Box, right: Box) -> float:
    between = 14.0 if left.waypoint or right.waypoint else H_GAP
    return (left.width + right.width) / 2 + between


def _place(row: list[Box], desired: Mapping[str, float]) -> None:
    """Put each box of a row as near its desired centre as the gaps allow (the mean of pushing each way)."""
    want = [desired.get(box.key, box.x) for box in row]
    left = list(want)
    for i in range(1, len(row)):
        left[i] = max(left[i], left[i - 1] + _gap(row[i - 1], row[i]))
    right = list(want)
    for i in range(len(row) - 2, -1, -1):
        right[i] = min(right[i], right[i + 1] - _gap(row[i], row[i + 1]))
    for box, a, b in zip(row, left, right, strict=True):
        box.x = (a + b) / 2


def layout(steps: Sequence[StepStatus], *, start_width: float = 160.0) -> Diagram:
    """Where each step, the start pill, the end terminal and every arrow go (see the module docstring)."""
    edges = _drop_loops(_edges_of(steps))
    nodes = [START, *(s.name for s in steps)] + ([END] if any(e.target == END for e in edges) else [])
    layer = _layers(nodes, edges)
    by_name = {step.name: step for step in steps}
    boxes: dict[str, Box] = {}
    for node in nodes:
        if node == START:
            boxes[node] = Box(node, layer[node], start_width, PILL_H)
        elif node == END:
            boxes[node] = Box(node, layer[node], END_W, PILL_H)
        else:
            boxes[node] = Box(node, layer[node], BOX_W, BOX_H, step=by_name[node])
    for number, edge in enumerate(edges):
        for depth in range(layer[edge.source] + 1, layer[edge.target]):
            key = f"~{number}.{depth}"
            boxes[key] = Box(key, depth, DUMMY_W, 0)
            edge.via.append(key)
    rows: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for key, box in boxes.items():  # steps in their written order, waypoints after
        rows[box.layer].append(key)
    _order(rows, edges)
    placed = [[boxes[key] for key in row] for row in rows]
    for row in placed:
        x = 0.0
        for i, box in enumerate(row):
            x = x + _gap(row[i - 1], box) if i else 0.0
            box.x = x
        middle = (row[0].x + row[-1].x) / 2
        for box in row:
            box.x -= middle
    upstream: dict[str, list[str]] = {key: [] for key in boxes}
    downstream: dict[str, list[str]] = {key: [] for key in boxes}
    for edge in edges:
        chain = [edge.source, *edge.via, edge.target]
        for upper, lower in zip(chain, chain[1:], strict=False):
            upstream[lower].append(upper)
            downstream[upper].append(lower)
    for downwards in (True, False, True, True):
        for row in placed if downwards else reversed(placed):
            near = upstream if downwards else downstream
            desired = {
                box.key: sum(boxes[n].x for n in near[box.key]) / len(near[box.key])
                for box in row
                if near[box.key]
            }
            _place(row, desired)
    left = min(box.x - box.width / 2 for box in boxes.values())
    right = max(box.x + box.width / 2 for box in boxes.values())
    y = float(MARGIN)
    for row in placed:
        height = max(box.height for box in row) or BOX_H
        for box in row:
            box.x += MARGIN - left
            box.y = y + (height - box.height) / 2 if box.height else y
            if box.waypoint:
                box.height = height
        y += height + V_GAP
    diagram = Diagram(right - left + 2 * MARGIN, y - V_GAP + MARGIN, boxes, edges)
    _route(diagram)
    return diagram


def _spread(count: int, width: float) -> list[float]:
    step = min(PORT_SPREAD, (width - 24) / max(count, 1))
    return [(i - (count - 1) / 2) * step for i in range(count)]


def _route(diagram: Diagram) -> None:
    """The points of each arrow: out of the source's bottom (exits spread in the order of where they
    go), straight down through each waypoint's row, into the target's top (spread by where they come from)."""
    boxes = diagram.boxes
    outgoing: dict[str, list[Edge]] = {}
    incoming: dict[str, list[Edge]] = {}
    for edge in diagram.edges:
        outgoing.setdefault(edge.source, []).append(edge)
        incoming.setdefault(edge.target, []).append(edge)
    start: dict[int, float] = {}
    finish: dict[int, float] = {}
    for source, found in outgoing.items():
        found.sort(key=lambda e: boxes[(e.via or [e.target])[0]].x)
        for edge, offset in zip(found, _spread(len(found), boxes[source].width), strict=True):
            start[id(edge)] = boxes[source].x + offset
    for target, found in incoming.items():
        found.sort(key=lambda e: boxes[(e.via or [e.source])[-1]].x)
        spread = _spread(len(found), boxes[target].width) if target != END else [0.0] * len(found)
        for edge, offset in zip(found, spread, strict=True):
            finish[id(edge)] = boxes[target].x + offset * 0.6
    for edge in diagram.edges:
        tail, head = boxes[edge.source], boxes[edge.target]
        points = [(start[id(edge)], tail.y + tail.height)]
        for key in edge.via:
            waypoint = boxes[key]
            points += [(waypoint.x, waypoint.y), (waypoint.x, waypoint.y + waypoint.height)]
        points.append((finish[id(edge)], head.y))
        edge.points = points


# ---- drawing -----------------------------------------------------------------------------------------------


def _path(points: Sequence[tuple[float, float]]) -> str:
    """Curves between rows, straight lines through waypoint rows; vertical at both ends (the arrowhead)."""
    (x, y), *rest = points
    parts = [f"M{x:.1f},{y:.1f}"]
    for index, (nx, ny) in enumerate(rest):
        if index % 2 == 0:  # between rows
            middle = (y + ny) / 2
            parts.append(f"C{x:.1f},{middle:.1f} {nx:.1f},{middle:.1f} {nx:.1f},{ny:.1f}")
        else:  # through a waypoint's row
            parts.append(f"L{nx:.1f},{ny:.1f}")
        x, y = nx, ny
    return " ".join(parts)


def _label_at(points: Sequence[tuple[float, float]], t: float = 0.4) -> tuple[float, float]:
    """The point ``t`` of the way along the arrow's first curve (where its label goes)."""
    (x1, y1), (x2, y2) = points[0], points[1]
    middle = (y1 + y2) / 2
    x = (1 - t) ** 3 * x1 + 3 * (1 - t) ** 2 * t * x1 + 3 * (1 - t) * t**2 * x2 + t**3 * x2
    y = (1 - t) ** 3 * y1 + 3 * (1 - t) ** 2 * t * middle + 3 * (1 - t) * t**2 * middle + t**3 * y2
    return x, y


def _n(value: float) -> str:
    return f"{value:.1f}"


TEXT = Markup('<text x="{}" y="{}" font-size="{}" font-weight="{}" fill="{}" text-anchor="{}">{}</text>')


def _text(
    x: float, y: float, content: str, *, size: float, fill: str, weight: int = 400, anchor: str = "start"
) -> Markup:
    return TEXT.format(_n(x), _n(y), size, weight, fill, anchor, content)


def _step_box(box: Box, words: Mapping[str, str], kind_names: Mapping[str, str]) -> Markup:
    step = box.step
    assert step is not None
    left, top = box.x - box.width / 2, box.y
    chip_bg, chip_ink = KIND_COLOURS.get(step.kind, KIND_COLOURS["exit"])
    kind = kind_names.get(step.kind, step.kind)
    chip_w = text_width(kind, 11) + 14
    here = step.here > 0
    parts = [
        Markup('<g class="journey-step" data-step="{}" data-kind="{}"><title>{} · {} · {}</title>').format(
            step.name, step.kind, step.label, step.name, kind
        ),
        Markup(
            '<rect class="journey-box" x="{}" y="{}" width="{}" height="{}" rx="10" fill="#ffffff" '
            'stroke="{}" stroke-width="{}"/>'
        ).format(
            _n(left), _n(top), _n(box.width), _n(box.height), ACCENT if here else LINE, 2 if here else 1.2
        ),
        Markup('<rect x="{}" y="{}" width="{}" height="18" rx="9" fill="{}"/>').format(
            _n(left + 12), _n(top + 10), _n(chip_w), chip_bg
        ),
        _text(left + 19, top + 23, kind, size=11, fill=chip_ink, weight=600),
    ]
    if text_width(step.name, 10.5) + chip_w + 36 < box.width:
        parts.append(_text(left + box.width - 12, top + 23, step.name, size=10.5, fill=MUTED, anchor="end"))
    lines = wrap(step.label, box.width - 24, LABEL_SIZE)
    first = top + (49 if len(lines) > 1 else 57)
    for number, line in enumerate(lines):
        parts.append(_text(left + 12, first + 18 * number, line, size=LABEL_SIZE, fill=INK, weight=600))
    counts = [("here", step.here), ("done", step.done), ("waiting", step.waiting)]
    if step.dead:
        counts.append(("dead", step.dead))
    spans = []
    for position, (name, value) in enumerate(counts):
        colour = ERROR if name == "dead" else (ACCENT if name == "here" and value else INK)
        spans.append(
            Markup(
                '<tspan fill="{}">{}{} </tspan><tspan data-count="{}" fill="{}" font-weight="700">{}</tspan>'
            ).format(MUTED, " · " if position else "", words[name], name, colour, f"{value:,}")
        )
    parts.append(
        Markup('<text class="journey-counts" x="{}" y="{}" font-size="{}">{}</text></g>').format(
            _n(left + 12), _n(top + box.height - 11), SMALL_SIZE, Markup("").join(spans)
        )
    )
    return Markup("").join(parts)


def _pill(box: Box, text: str, *, kind: str) -> Markup:
    dark = kind == "start"
    return Markup(
        '<g class="journey-{}" data-step="{}"><rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{}" '
        'stroke="{}"/>{}</g>'
    ).format(
        kind,
        kind,
        _n(box.x - box.width / 2),
        _n(box.y),
        _n(box.width),
        _n(box.height),
        _n(box.height / 2),
        INK if dark else "#f2f4f7",
        INK if dark else "#98a2b3",
        _text(
            box.x,
            box.y + box.height / 2 + 4.5,
            text,
            size=13,
            fill="#ffffff" if dark else "#344054",
            weight=600,
            anchor="middle",
        ),
    )


def _edge(edge: Edge, exit_names: Mapping[str, str]) -> Markup:
    shown = "" if edge.exit in ("next", "start") else exit_names.get(edge.exit, edge.exit)
    parts = [
        Markup(
            '<g class="journey-edge" data-from="{}" data-to="{}" data-exit="{}">'
            '<path d="{}" fill="none" stroke="{}" stroke-width="1.6" marker-end="url(#journey-arrow)"/>'
        ).format(
            "start" if edge.source == START else edge.source,
            "end" if edge.target == END else edge.target,
            edge.exit,
            _path(edge.points),
            ARROW,
        )
    ]
    if shown:
        x, y = _label_at(edge.points)
        width = text_width(shown, 11.5) + 12
        parts.append(
            Markup('<rect x="{}" y="{}" width="{}" height="18" rx="4" fill="#ffffff" stroke="{}"/>').format(
                _n(x - width / 2), _n(y - 9), _n(width), LINE
            )
        )
        parts.append(_text(x, y + 4, shown, size=11.5, fill="#344054", weight=600, anchor="middle"))
    parts.append(Markup("</g>"))
    return Markup("").join(parts)


def render_svg(
    steps: Sequence[StepStatus],
    *,
    start: str,
    words: Mapping[str, str],
    kind_names: Mapping[str, str],
    exit_names: Mapping[str, str],
    title: str,
) -> Markup:
    """The diagram as an ``<svg>`` element, safe to put in a page as it is (every text in it is escaped).

    ``start`` is the text of the start pill (the trigger); ``words`` names the
    counts (``here``, ``done``, ``waiting``, ``dead``) and the ``end`` terminal;
    ``kind_names`` and ``exit_names`` translate step kinds and exit labels
    (unknown ones are shown as they are).
    """
    start_width = min(max(text_width(start, 13) + 36, 120.0), 2 * BOX_W)
    diagram = layout(steps, start_width=start_width)
    width, height = f"{diagram.width:.0f}", f"{diagram.height:.0f}"
    shown = "100%" if diagram.width <= CENTRED_UP_TO else width
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="journey-diagram" width="{}" height="{}" '
            'viewBox="0 0 {} {}" preserveAspectRatio="xMidYMin meet" role="img" aria-label="{}">'
            "<title>{}</title>"
            '<defs><marker id="journey-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
            'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">'
            '<path d="M0,0 L10,5 L0,10 z" fill="{}"/></marker></defs>'
        ).format(shown, height, width, height, title, title, ARROW)
    ]
    parts += [_edge(edge, exit_names) for edge in diagram.edges]
    for box in diagram.boxes.values():
        if box.key == START:
            parts.append(_pill(box, start, kind="start"))
        elif box.key == END:
            parts.append(_pill(box, words["end"], kind="end"))
        elif box.step is not None:
            parts.append(_step_box(box, words, kind_names))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
