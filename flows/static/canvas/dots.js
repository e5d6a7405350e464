// Entities as dots: the same hash and placement as entities/picture.py, so dots the
// pages move land where the server drew them. `nodes`/`edges`: id -> box / edge (with
// its path's `points`); `dot`: entities.picture.dot_settings().

import { along } from "./routes.js";

export function colorFor(type, palette) {
  let h = 0;
  for (const ch of type) h = (Math.imul(h, 31) + ch.codePointAt(0)) >>> 0;
  return palette[h % palette.length];
}

const isBlock = (box) => Boolean(box.is_block ?? box.isBlock);

// A node's row of dots: left end, centre line, how many it holds (picture.py's dot_strip).
export function dotStrip(box, dot) {
  const [blockInset, inset] = dot.inset;
  if (isBlock(box)) {
    const room = box.w - 2 * blockInset;
    return { left: box.x + blockInset, cy: box.y + box.h - dot.foot / 2, slots: Math.max(3, Math.floor(room / dot.gap)) };
  }
  const room = box.w - 2 * inset - dot.spark;  // the lower right corner is the analytics chart's
  return { left: box.x + inset, cy: box.y + box.h - dot.r - 4, slots: Math.max(3, Math.floor(room / dot.gap)) };
}

function row(box, count, dot) {
  const { left, cy, slots } = dotStrip(box, dot);
  const shown = count <= slots ? count : slots - 2;
  const places = [];
  for (let i = 0; i < shown; i++) places.push({ cx: left + dot.r + i * dot.gap, cy });
  if (shown === count) return { places, chip: null };
  const h = 2 * dot.r + 2;
  return { places, chip: { node_id: box.id, x: left + shown * dot.gap, y: cy - dot.r - 1, w: 2 * dot.gap - 2, h, count: count - shown } };
}

// {dots: Map entity id -> {cx, cy}, chips: [{node_id, x, y, w, h, count}]}: each node's
// row (oldest first, the rest counted on a chip), or on the edge's path at the progress.
export function dotPositions(entities, nodes, edges, dot) {
  const sorted = [...entities].sort((a, b) =>
    a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1);
  const standing = new Map();
  const places = new Map();
  for (const e of sorted) {
    const box = e.current_node_id && nodes[e.current_node_id];
    const line = e.current_edge_id && edges[e.current_edge_id];
    if (box) {
      if (!standing.has(e.current_node_id)) standing.set(e.current_node_id, []);
      standing.get(e.current_node_id).push(e);
    } else if (line) {
      const [cx, cy] = along(line.points, Number(e.edge_progress || 0));
      places.set(e.id, { cx, cy });
    }
  }
  const chips = [];
  for (const [nodeId, here] of standing) {
    const { places: spots, chip } = row(nodes[nodeId], here.length, dot);
    spots.forEach((spot, i) => places.set(here[i].id, spot));
    if (chip) chips.push(chip);
  }
  const dots = new Map();
  for (const e of sorted) if (places.has(e.id)) dots.set(e.id, places.get(e.id));
  return { dots, chips };
}

const NS = "http://www.w3.org/2000/svg";

// Draw the chips into `layer` (replacing what was there), as canvas_svg.html does.
export function drawChips(layer, chips) {
  layer.replaceChildren();
  for (const chip of chips) {
    const g = document.createElementNS(NS, "g");
    g.setAttribute("class", "dot-chip");
    g.dataset.nodeId = chip.node_id;
    g.dataset.count = String(chip.count);
    const rect = document.createElementNS(NS, "rect");
    for (const [k, v] of Object.entries({ x: chip.x, y: chip.y, width: chip.w, height: chip.h })) rect.setAttribute(k, v);
    const text = document.createElementNS(NS, "text");
    for (const [k, v] of Object.entries({ x: chip.x + chip.w / 2, y: chip.y + chip.h / 2 + 3.5, "text-anchor": "middle" })) text.setAttribute(k, v);
    text.textContent = `+${chip.count}`;
    const title = document.createElementNS(NS, "title");
    title.textContent = `${chip.count} more here`;
    g.append(rect, text, title);
    layer.append(g);
  }
}
