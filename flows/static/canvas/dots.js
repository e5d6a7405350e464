// Entities as dots: the same hash and placement as entities/picture.py, so dots the
// pages move land where the server drew them. `nodes`/`edges`: id -> box / line.

export function colorFor(type, palette) {
  let h = 0;
  for (const ch of type) h = (Math.imul(h, 31) + ch.codePointAt(0)) >>> 0;
  return palette[h % palette.length];
}

// Map entity id -> {cx, cy}: rows along the bottom of the node's box, or along the edge.
export function dotPositions(entities, nodes, edges, dot) {
  const perNode = new Map();
  const sorted = [...entities].sort((a, b) =>
    a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1);
  const out = new Map();
  for (const e of sorted) {
    const box = e.current_node_id && nodes[e.current_node_id];
    const line = e.current_edge_id && edges[e.current_edge_id];
    if (box) {
      const slot = perNode.get(e.current_node_id) || 0;
      perNode.set(e.current_node_id, slot + 1);
      out.set(e.id, {
        cx: box.x + dot.r + 4 + (slot % dot.per_row) * dot.gap,
        cy: box.y + box.h - dot.r - 4 - Math.floor(slot / dot.per_row) * dot.gap,
      });
    } else if (line) {
      const p = Number(e.edge_progress || 0);
      out.set(e.id, { cx: line.x1 + (line.x2 - line.x1) * p, cy: line.y1 + (line.y2 - line.y1) * p });
    }
  }
  return out;
}
