// Reads any canvas SVG (server-drawn or the editor's) in screen pixels: node boxes, edge
// paths and labels, entity dots (with their SVG coordinates), "+N" chips.
// Evaluated by tests/canvas/picture_geometry.py.
(selector) => {
  const svg = document.querySelector(selector);
  const box = (el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; };
  const screen = (el, x, y) => { const p = new DOMPoint(x, y).matrixTransform(el.getScreenCTM()); return [p.x, p.y]; };
  const nodes = {};
  for (const g of svg.querySelectorAll(".node[data-node-id]")) {
    nodes[g.dataset.nodeId] = { ...box(g.querySelector(":scope > rect")), block: g.dataset.block || null,
                                isBlock: g.closest(".sections") !== null };
  }
  for (const g of svg.querySelectorAll(".bmc-block")) nodes[`block:${g.dataset.block}`] = { ...box(g.querySelector("rect")), block: g.dataset.block, isBlock: true };
  const edges = {};
  for (const g of svg.querySelectorAll(".edge[data-edge-id]")) {
    const path = g.querySelector("path:not(.hit):not(.traffic)");
    const numbers = (path.getAttribute("d").match(/-?[0-9.e+-]+/g) || []).map(Number);
    const points = [];
    for (let i = 0; i + 1 < numbers.length; i += 2) points.push(screen(path, numbers[i], numbers[i + 1]));
    const text = g.querySelector("text");
    edges[g.dataset.edgeId] = { points, label: text && text.textContent ? box(text) : null };
  }
  const dots = {};
  for (const c of svg.querySelectorAll("circle.entity-dot")) {
    // From the attributes, not the layout box: a moved dot's transition (canvas.css) may
    // still be under way, and the attributes are where it ends.
    const user = [Number(c.getAttribute("cx")), Number(c.getAttribute("cy"))];
    const [cx, cy] = screen(c, ...user);
    const r = (Number(c.getAttribute("r")) + Number(c.getAttribute("stroke-width") || 0) / 2) * c.getScreenCTM().a;
    dots[c.dataset.entityId] = { x: cx - r, y: cy - r, w: 2 * r, h: 2 * r, cx, cy, r, user };
  }
  const chips = [...svg.querySelectorAll(".dot-chip")].map((g) => ({ ...box(g.querySelector("rect")), node: g.dataset.nodeId, count: Number(g.dataset.count) }));
  return { nodes, edges, dots, chips };
}
