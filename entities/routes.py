"""Where an edge is drawn: a polyline from the source box's border to the target's.

On a BMC canvas the blocks stand apart by a gutter (flows.layout.BLOCK_GUTTER), and an
edge is routed orthogonally through the gutters: a straight segment between the facing
sides of two blocks when nothing stands between them, else one or two bends along the
gutters, never through another block or card. Elsewhere (the free layout) an edge is
the straight line between the two boxes' borders on the way from centre to centre.

static/canvas/routes.js repeats this step by step (same candidates, same order, same
arithmetic), so the editor draws the paths the server draws; a browser test compares
them on the demo canvas.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # x, y, w, h

# Channel lines run this far outside every box (half the BMC gutter: its middle).
CLEAR = 32.0
# The first and last segment are at least this long, so an arrowhead has room.
STUB = 12.0
# Ports stay this far from a side's corners.
INSET = 10.0
# What a bend and a crossing of an earlier edge cost, in pixels of length.
BEND, CROSS = 40.0, 400.0
# Labels sit this far beside their segment (an entity dot, radius 6, passes clear).
LABEL_OFFSET = 12.0
LABEL_CHAR = 6.6  # about one character of the 12 px label font


def _channels(rects: list[Rect], axis: int) -> list[float]:
    values = set()
    for rect in rects:
        low, size = rect[axis], rect[axis + 2]
        values.add(low - CLEAR)
        values.add(low + size + CLEAR)
    return sorted(values)


def _ports(rect: Rect, other: Rect, channels: list[float], axis: int) -> list[float]:
    """Coordinates (along `axis`) where a path may leave a side of `rect` running
    across it: the middle of the stretch facing `other`, the side's middle, and every
    channel line meeting the side."""
    low, high = rect[axis], rect[axis] + rect[axis + 2]
    out: list[float] = []
    start, end = max(low, other[axis]), min(high, other[axis] + other[axis + 2])
    if end - start >= 2 * INSET:
        out.append((start + end) / 2)
    out.append(low + rect[axis + 2] / 2)
    out.extend(c for c in channels if low + INSET <= c <= high - INSET)
    seen: list[float] = []
    for value in out:
        if value not in seen:
            seen.append(value)
    return seen


def _exit(rect: Rect, toward: float, axis: int) -> float | None:
    """The side of `rect` (along `axis`) a path heading for `toward` leaves by."""
    low, high = rect[axis], rect[axis] + rect[axis + 2]
    if toward >= high + STUB:
        return high
    if toward <= low - STUB:
        return low
    return None


def _candidates(s: Rect, t: Rect, xs: list[float], ys: list[float]) -> Iterator[list[Point]]:
    sy, sx = _ports(s, t, ys, 1), _ports(s, t, xs, 0)
    ty, tx = _ports(t, s, ys, 1), _ports(t, s, xs, 0)
    # Straight: facing sides.
    for y in sy:
        if t[1] + INSET <= y <= t[1] + t[3] - INSET:
            a, b = _exit(s, t[0] + t[2] / 2, 0), _exit(t, s[0] + s[2] / 2, 0)
            if a is not None and b is not None:
                yield [(a, y), (b, y)]
    for x in sx:
        if t[0] + INSET <= x <= t[0] + t[2] - INSET:
            a, b = _exit(s, t[1] + t[3] / 2, 1), _exit(t, s[1] + s[3] / 2, 1)
            if a is not None and b is not None:
                yield [(x, a), (x, b)]
    # One bend.
    for y in sy:
        for x in tx:
            a, b = _exit(s, x, 0), _exit(t, y, 1)
            if a is not None and b is not None:
                yield [(a, y), (x, y), (x, b)]
    for x in sx:
        for y in ty:
            a, b = _exit(s, y, 1), _exit(t, x, 0)
            if a is not None and b is not None:
                yield [(x, a), (x, y), (b, y)]
    # Two bends, the middle segment along a channel.
    for y1 in sy:
        for c in xs:
            for y2 in ty:
                a, b = _exit(s, c, 0), _exit(t, c, 0)
                if y1 != y2 and a is not None and b is not None:
                    yield [(a, y1), (c, y1), (c, y2), (b, y2)]
    for x1 in sx:
        for c in ys:
            for x2 in tx:
                a, b = _exit(s, c, 1), _exit(t, c, 1)
                if x1 != x2 and a is not None and b is not None:
                    yield [(x1, a), (x1, c), (x2, c), (x2, b)]


def _detours(s: Rect, t: Rect, xs: list[float], ys: list[float]) -> Iterator[list[Point]]:
    """Three bends, along two channels: around a block standing in the way (tried only
    when nothing simpler is clear)."""
    sy, sx = _ports(s, t, ys, 1), _ports(s, t, xs, 0)
    ty, tx = _ports(t, s, ys, 1), _ports(t, s, xs, 0)
    for y1 in sy:
        for c1 in xs:
            for c2 in ys:
                for x2 in tx:
                    a, b = _exit(s, c1, 0), _exit(t, c2, 1)
                    if a is not None and b is not None and c2 != y1 and c1 != x2:
                        yield [(a, y1), (c1, y1), (c1, c2), (x2, c2), (x2, b)]
    for x1 in sx:
        for c1 in ys:
            for c2 in xs:
                for y2 in ty:
                    a, b = _exit(s, c1, 1), _exit(t, c2, 0)
                    if a is not None and b is not None and c2 != x1 and c1 != y2:
                        yield [(x1, a), (x1, c1), (c2, c1), (c2, y2), (b, y2)]


def _length(points: list[Point]) -> float:
    return sum(abs(b[0] - a[0]) + abs(b[1] - a[1]) for a, b in itertools.pairwise(points))


def _hits(a: Point, b: Point, rect: Rect, grow: float) -> bool:
    """Does the axis-parallel segment a-b enter `rect` grown by `grow` (its inside,
    not its border)?"""
    x, y, w, h = rect
    return (
        min(a[0], b[0]) < x + w + grow
        and max(a[0], b[0]) > x - grow
        and min(a[1], b[1]) < y + h + grow
        and max(a[1], b[1]) > y - grow
    )


def _clear(points: list[Point], s: Rect, t: Rect, obstacles: list[Rect]) -> bool:
    for a, b in itertools.pairwise(points):
        if _hits(a, b, s, 0) or _hits(a, b, t, 0):
            return False
        if any(_hits(a, b, rect, 1) for rect in obstacles):
            return False
    return True


def _meets(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Do two axis-parallel segments cross, or run along each other?"""
    if a[1] == b[1] and c[0] == d[0]:  # a-b across, c-d down
        return min(a[0], b[0]) < c[0] < max(a[0], b[0]) and min(c[1], d[1]) < a[1] < max(c[1], d[1])
    if a[0] == b[0] and c[1] == d[1]:
        return _meets(c, d, a, b)
    if a[1] == b[1] == c[1] == d[1]:
        return min(max(a[0], b[0]), max(c[0], d[0])) > max(min(a[0], b[0]), min(c[0], d[0]))
    if a[0] == b[0] == c[0] == d[0]:
        return min(max(a[1], b[1]), max(c[1], d[1])) > max(min(a[1], b[1]), min(c[1], d[1]))
    return False


def _crossings(points: list[Point], earlier: list[list[Point]]) -> int:
    count = 0
    for a, b in itertools.pairwise(points):
        for path in earlier:
            for c, d in itertools.pairwise(path):
                count += _meets(a, b, c, d)
    return count


def _best(
    candidates: Iterator[list[Point]],
    s: Rect,
    t: Rect,
    obstacles: list[Rect],
    earlier: list[list[Point]],
) -> list[Point] | None:
    scored = sorted((_length(p) + BEND * (len(p) - 2), i, p) for i, p in enumerate(candidates))
    best: tuple[float, list[Point]] | None = None
    for base, _, points in scored:
        if best is not None and base >= best[0]:
            break
        if not _clear(points, s, t, obstacles):
            continue
        total = base + CROSS * _crossings(points, earlier)
        if best is None or total < best[0]:
            best = (total, points)
    return best[1] if best is not None else None


def route(
    s: Rect, t: Rect, obstacles: list[Rect], earlier: list[list[Point]]
) -> list[Point] | None:
    """The cheapest clear orthogonal path from a side of `s` to a side of `t` (length,
    bends, crossings of the `earlier` edges' paths), or None when there is none."""
    xs, ys = _channels([*obstacles, s, t], 0), _channels([*obstacles, s, t], 1)
    found = _best(_candidates(s, t, xs, ys), s, t, obstacles, earlier)
    if found is None:
        found = _best(_detours(s, t, xs, ys), s, t, obstacles, earlier)
    return found


def _border(box: Rect, toward: Rect) -> Point:
    """Where the line from `box`'s centre to `toward`'s centre leaves `box`."""
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    dx, dy = toward[0] + toward[2] / 2 - cx, toward[1] + toward[3] / 2 - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(
        (box[2] / 2) / abs(dx) if dx else float("inf"),
        (box[3] / 2) / abs(dy) if dy else float("inf"),
    )
    return cx + dx * scale, cy + dy * scale


def straight(s: Rect, t: Rect) -> list[Point]:
    return [_border(s, t), _border(t, s)]


def along(points: list[Point], progress: float) -> Point:
    """The point `progress` (0..1) of the way along the path, by length."""
    lengths = [
        ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5 for a, b in itertools.pairwise(points)
    ]
    left = max(0.0, min(1.0, progress)) * sum(lengths)
    for (a, b), length in zip(itertools.pairwise(points), lengths, strict=False):
        if left <= length and length > 0:
            f = left / length
            return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
        left -= length
    return points[-1]


def label_place(points: list[Point], label: str) -> dict[str, float | str]:
    """Where an edge's label goes: beside the middle of its longest segment (above a
    level one; along a long upright one, reading upwards; right of a short upright one),
    so entity dots on the path never sit under it."""
    a, b = points[0], points[1]
    for c, d in itertools.pairwise(points):
        if abs(d[0] - c[0]) + abs(d[1] - c[1]) > abs(b[0] - a[0]) + abs(b[1] - a[1]):
            a, b = c, d
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    dx, dy = abs(b[0] - a[0]), abs(b[1] - a[1])
    if dx >= dy:
        return {"x": mx, "y": my - LABEL_OFFSET, "anchor": "middle", "rotate": 0}
    if dy >= len(label) * LABEL_CHAR + 2 * STUB:
        return {"x": mx - LABEL_OFFSET, "y": my, "anchor": "middle", "rotate": -90}
    return {"x": mx + LABEL_OFFSET, "y": my + 4, "anchor": "start", "rotate": 0}
