// Where an edge is drawn: entities/routes.py step by step (read its docstring). Same
// candidates in the same order, same arithmetic, so the editor draws the server's paths.
// A rect is [x, y, w, h]; a point [x, y]; a path a list of points.

export const CLEAR = 32;
export const STUB = 12;
export const INSET = 10;
export const BEND = 40;
export const CROSS = 400;
export const LABEL_OFFSET = 12;
export const LABEL_CHAR = 6.6;

function channels(rects, axis) {
  const values = new Set();
  for (const r of rects) {
    values.add(r[axis] - CLEAR);
    values.add(r[axis] + r[axis + 2] + CLEAR);
  }
  return [...values].sort((a, b) => a - b);
}

function ports(rect, other, chans, axis) {
  const low = rect[axis];
  const high = rect[axis] + rect[axis + 2];
  const out = [];
  const start = Math.max(low, other[axis]);
  const end = Math.min(high, other[axis] + other[axis + 2]);
  if (end - start >= 2 * INSET) out.push((start + end) / 2);
  out.push(low + rect[axis + 2] / 2);
  for (const c of chans) if (low + INSET <= c && c <= high - INSET) out.push(c);
  const seen = [];
  for (const v of out) if (!seen.includes(v)) seen.push(v);
  return seen;
}

function exit(rect, toward, axis) {
  const low = rect[axis];
  const high = rect[axis] + rect[axis + 2];
  if (toward >= high + STUB) return high;
  if (toward <= low - STUB) return low;
  return null;
}

function candidates(s, t, xs, ys) {
  const out = [];
  const sy = ports(s, t, ys, 1);
  const sx = ports(s, t, xs, 0);
  const ty = ports(t, s, ys, 1);
  const tx = ports(t, s, xs, 0);
  for (const y of sy) {
    if (t[1] + INSET <= y && y <= t[1] + t[3] - INSET) {
      const a = exit(s, t[0] + t[2] / 2, 0);
      const b = exit(t, s[0] + s[2] / 2, 0);
      if (a !== null && b !== null) out.push([[a, y], [b, y]]);
    }
  }
  for (const x of sx) {
    if (t[0] + INSET <= x && x <= t[0] + t[2] - INSET) {
      const a = exit(s, t[1] + t[3] / 2, 1);
      const b = exit(t, s[1] + s[3] / 2, 1);
      if (a !== null && b !== null) out.push([[x, a], [x, b]]);
    }
  }
  for (const y of sy) {
    for (const x of tx) {
      const a = exit(s, x, 0);
      const b = exit(t, y, 1);
      if (a !== null && b !== null) out.push([[a, y], [x, y], [x, b]]);
    }
  }
  for (const x of sx) {
    for (const y of ty) {
      const a = exit(s, y, 1);
      const b = exit(t, x, 0);
      if (a !== null && b !== null) out.push([[x, a], [x, y], [b, y]]);
    }
  }
  for (const y1 of sy) {
    for (const c of xs) {
      for (const y2 of ty) {
        const a = exit(s, c, 0);
        const b = exit(t, c, 0);
        if (y1 !== y2 && a !== null && b !== null) out.push([[a, y1], [c, y1], [c, y2], [b, y2]]);
      }
    }
  }
  for (const x1 of sx) {
    for (const c of ys) {
      for (const x2 of tx) {
        const a = exit(s, c, 1);
        const b = exit(t, c, 1);
        if (x1 !== x2 && a !== null && b !== null) out.push([[x1, a], [x1, c], [x2, c], [x2, b]]);
      }
    }
  }
  return out;
}

// Three bends, along two channels: around a block in the way (routes.py's _detours).
function detours(s, t, xs, ys) {
  const out = [];
  const sy = ports(s, t, ys, 1);
  const sx = ports(s, t, xs, 0);
  const ty = ports(t, s, ys, 1);
  const tx = ports(t, s, xs, 0);
  for (const y1 of sy) {
    for (const c1 of xs) {
      for (const c2 of ys) {
        for (const x2 of tx) {
          const a = exit(s, c1, 0);
          const b = exit(t, c2, 1);
          if (a !== null && b !== null && c2 !== y1 && c1 !== x2) out.push([[a, y1], [c1, y1], [c1, c2], [x2, c2], [x2, b]]);
        }
      }
    }
  }
  for (const x1 of sx) {
    for (const c1 of ys) {
      for (const c2 of xs) {
        for (const y2 of ty) {
          const a = exit(s, c1, 1);
          const b = exit(t, c2, 0);
          if (a !== null && b !== null && c2 !== x1 && c1 !== y2) out.push([[x1, a], [x1, c1], [c2, c1], [c2, y2], [b, y2]]);
        }
      }
    }
  }
  return out;
}

function length(points) {
  let total = 0;
  for (let i = 1; i < points.length; i++) {
    total += Math.abs(points[i][0] - points[i - 1][0]) + Math.abs(points[i][1] - points[i - 1][1]);
  }
  return total;
}

function hits(a, b, r, grow) {
  return Math.min(a[0], b[0]) < r[0] + r[2] + grow && Math.max(a[0], b[0]) > r[0] - grow
    && Math.min(a[1], b[1]) < r[1] + r[3] + grow && Math.max(a[1], b[1]) > r[1] - grow;
}

function clear(points, s, t, obstacles) {
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (hits(a, b, s, 0) || hits(a, b, t, 0)) return false;
    if (obstacles.some((r) => hits(a, b, r, 1))) return false;
  }
  return true;
}

function meets(a, b, c, d) {
  if (a[1] === b[1] && c[0] === d[0]) {
    return Math.min(a[0], b[0]) < c[0] && c[0] < Math.max(a[0], b[0])
      && Math.min(c[1], d[1]) < a[1] && a[1] < Math.max(c[1], d[1]);
  }
  if (a[0] === b[0] && c[1] === d[1]) return meets(c, d, a, b);
  if (a[1] === b[1] && b[1] === c[1] && c[1] === d[1]) {
    return Math.min(Math.max(a[0], b[0]), Math.max(c[0], d[0])) > Math.max(Math.min(a[0], b[0]), Math.min(c[0], d[0]));
  }
  if (a[0] === b[0] && b[0] === c[0] && c[0] === d[0]) {
    return Math.min(Math.max(a[1], b[1]), Math.max(c[1], d[1])) > Math.max(Math.min(a[1], b[1]), Math.min(c[1], d[1]));
  }
  return false;
}

function crossings(points, earlier) {
  let count = 0;
  for (let i = 1; i < points.length; i++) {
    for (const path of earlier) {
      for (let j = 1; j < path.length; j++) if (meets(points[i - 1], points[i], path[j - 1], path[j])) count += 1;
    }
  }
  return count;
}

function best(candidates, s, t, obstacles, earlier) {
  const scored = candidates
    .map((points, i) => ({ base: length(points) + BEND * (points.length - 2), i, points }))
    .sort((a, b) => a.base - b.base || a.i - b.i);
  let found = null;
  for (const { base, points } of scored) {
    if (found !== null && base >= found.total) break;
    if (!clear(points, s, t, obstacles)) continue;
    const total = base + CROSS * crossings(points, earlier);
    if (found === null || total < found.total) found = { total, points };
  }
  return found === null ? null : found.points;
}

// The cheapest clear orthogonal path from a side of `s` to a side of `t`, or null;
// three bends only when nothing simpler is clear.
export function route(s, t, obstacles, earlier) {
  const all = [...obstacles, s, t];
  const xs = channels(all, 0);
  const ys = channels(all, 1);
  return best(candidates(s, t, xs, ys), s, t, obstacles, earlier) ?? best(detours(s, t, xs, ys), s, t, obstacles, earlier);
}

function border(box, toward) {
  const cx = box[0] + box[2] / 2;
  const cy = box[1] + box[3] / 2;
  const dx = toward[0] + toward[2] / 2 - cx;
  const dy = toward[1] + toward[3] / 2 - cy;
  if (dx === 0 && dy === 0) return [cx, cy];
  const scale = Math.min(dx ? box[2] / 2 / Math.abs(dx) : Infinity, dy ? box[3] / 2 / Math.abs(dy) : Infinity);
  return [cx + dx * scale, cy + dy * scale];
}

export function straight(s, t) {
  return [border(s, t), border(t, s)];
}

// The point `progress` (0..1) of the way along the path, by length.
export function along(points, progress) {
  const lengths = [];
  for (let i = 1; i < points.length; i++) {
    lengths.push(((points[i][0] - points[i - 1][0]) ** 2 + (points[i][1] - points[i - 1][1]) ** 2) ** 0.5);
  }
  let left = Math.max(0, Math.min(1, progress)) * lengths.reduce((a, b) => a + b, 0);
  for (let i = 0; i < lengths.length; i++) {
    const a = points[i];
    const b = points[i + 1];
    if (left <= lengths[i] && lengths[i] > 0) {
      const f = left / lengths[i];
      return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f];
    }
    left -= lengths[i];
  }
  return points[points.length - 1];
}

// Beside the middle of the longest segment, clear of the dots on the path.
export function labelPlace(points, label) {
  let a = points[0];
  let b = points[1];
  for (let i = 1; i < points.length; i++) {
    const c = points[i - 1];
    const d = points[i];
    if (Math.abs(d[0] - c[0]) + Math.abs(d[1] - c[1]) > Math.abs(b[0] - a[0]) + Math.abs(b[1] - a[1])) {
      a = c;
      b = d;
    }
  }
  const mx = (a[0] + b[0]) / 2;
  const my = (a[1] + b[1]) / 2;
  const dx = Math.abs(b[0] - a[0]);
  const dy = Math.abs(b[1] - a[1]);
  if (dx >= dy) return { x: mx, y: my - LABEL_OFFSET, anchor: "middle", rotate: 0 };
  if (dy >= [...label].length * LABEL_CHAR + 2 * STUB) return { x: mx - LABEL_OFFSET, y: my, anchor: "middle", rotate: -90 };
  return { x: mx + LABEL_OFFSET, y: my + 4, anchor: "start", rotate: 0 };
}

export function pathD(points) {
  return `M${points.map(([x, y]) => `${x} ${y}`).join(" L")}`;
}
