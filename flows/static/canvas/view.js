// Draws an editor's graph into an SVG (same classes as the server's picture, so
// canvas.css styles both). Elements are kept per id and only their attributes are
// updated, and a dragged node moves alone with its edges, so 300 nodes stay cheap.

import { colorFor, dotPositions, drawChips } from "./dots.js";
import { edgePaths, isExecutable } from "./layout.js";
import { pathD } from "./routes.js";

const NS = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.append(node);
  return node;
}

function set(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    const text = String(value);
    if (node.getAttribute(key) !== text) node.setAttribute(key, text);
  }
}

// About as many characters as fit across a box (entities/picture.py's label_chars).
export function labelChars(width, title = false) {
  return Math.max(4, Math.floor((width - 16) / (title ? 8.6 : 7.4)));
}

function truncate(text, size) {
  return text.length > size ? `${text.slice(0, size - 1)}…` : text;
}

export class EditorView {
  constructor(svg, layout) {
    this.svg = svg;
    this.layout = layout;
    svg.classList.add("stitch-canvas", "editing");
    const defs = el("defs", {}, svg);
    const marker = el("marker", { id: "editor-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 12, markerHeight: 12, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#94a3b8" }, marker);
    this.layers = {};
    for (const name of ["blocks", "sections", "edges", "nodes", "dots", "chips", "draft"]) {
      this.layers[name] = el("g", { class: name }, svg);
    }
    this.nodeEls = new Map();
    this.edgeEls = new Map();
    this.blockEls = new Map();
    this.boxes = new Map();
    this.blocks = [];
    this.edgesByNode = new Map();
    this.paths = new Map();
    this.edges = [];
    this.canvasType = "";
  }

  // Draw `graph` as laid out for `canvasType`; `state`: {selection, problems, entities, dot, palette}.
  render(graph, canvasType, state) {
    const { boxes, blocks } = this.layout.place(graph, canvasType);
    this.boxes = boxes;
    this.blocks = blocks;
    this.svg.dataset.canvasType = canvasType;
    this.canvasType = canvasType;
    this.drawBlocks(blocks);
    this.drawNodes(boxes, state);
    this.drawEdges(graph.edges || [], state);
    this.drawDots(state);
  }

  drawBlocks(blocks) {
    const free = blocks.filter((b) => b.nodeId === null);
    const keep = new Set(free.map((b) => b.key));
    for (const [key, g] of this.blockEls) if (!keep.has(key)) { g.remove(); this.blockEls.delete(key); }
    for (const block of free) {
      let g = this.blockEls.get(block.key);
      if (!g) {
        g = el("g", { class: "bmc-block", "data-block": block.key }, this.layers.blocks);
        el("rect", {}, g);
        el("text", { class: "title" }, g).textContent = block.title;
        this.blockEls.set(block.key, g);
      }
      set(g.firstChild, { x: block.x, y: block.y, width: block.w, height: block.h });
      set(g.lastChild, { x: block.x + 12, y: block.y + 26 });
    }
  }

  nodeElement(box) {
    let parts = this.nodeEls.get(box.id);
    const layer = box.isBlock ? this.layers.sections : this.layers.nodes;
    if (parts && parts.g.parentNode !== layer) layer.append(parts.g);
    if (parts) return parts;
    const g = el("g", { class: "node", "data-node-id": box.id }, layer);
    parts = {
      g,
      rect: el("rect", { x: 0, y: 0 }, g),
      label: el("text", { class: "label" }, g),
      kind: el("text", { class: "kind", "text-anchor": "middle" }, g),
      drill: el("text", { class: "drill-mark", "text-anchor": "end" }, g),
      handle: el("circle", { class: "handle", r: 7 }, g),
      badge: el("g", { class: "problem-badge" }, g),
      title: el("title", {}, g),
    };
    el("circle", { r: 9 }, parts.badge);
    el("text", { "text-anchor": "middle", dy: 4 }, parts.badge).textContent = "!";
    parts.badgeTitle = el("title", {}, parts.badge);
    this.nodeEls.set(box.id, parts);
    return parts;
  }

  drawNodes(boxes, { selection, problems }) {
    for (const [id, parts] of this.nodeEls) if (!boxes.has(id)) { parts.g.remove(); this.nodeEls.delete(id); }
    const byNode = problemsBy(problems, "node_id");
    for (const box of boxes.values()) {
      const parts = this.nodeElement(box);
      const title = box.isBlock;
      set(parts.g, { transform: `translate(${box.x} ${box.y})`, "data-kind": box.kind });
      if (box.block) parts.g.dataset.block = box.block; else delete parts.g.dataset.block;
      parts.g.classList.toggle("selected", selection.nodes.has(box.id));
      parts.g.classList.toggle("has-problem", byNode.has(box.id));
      parts.g.classList.toggle("has-child", Boolean(box.child));
      set(parts.rect, { width: box.w, height: box.h });
      parts.label.classList.toggle("title", title);
      const label = truncate(box.label, labelChars(box.w, title));
      if (parts.label.textContent !== label) parts.label.textContent = label;
      const kind = isExecutable(box.type) ? box.type : "";
      if (title) set(parts.label, { x: 12, y: 26, "text-anchor": "start" });
      else set(parts.label, { x: box.w / 2, y: kind ? 22 : box.h / 2 + 4, "text-anchor": "middle" });
      if (parts.kind.textContent !== kind) parts.kind.textContent = kind;
      set(parts.kind, { x: box.w / 2, y: 38 });
      parts.drill.textContent = box.child ? "open ↘" : "";
      set(parts.drill, { x: box.w - 8, y: title ? 26 : box.h - 8 });
      set(parts.handle, { cx: box.w, cy: box.h / 2 });
      const messages = byNode.get(box.id) || [];
      parts.badge.style.display = messages.length ? "" : "none";
      set(parts.badge, { transform: `translate(${box.w - 2} 2)` });
      parts.badgeTitle.textContent = messages.join("\n");
      parts.title.textContent = `${box.label} (${box.type || "node"})${box.child ? " — double-click to open its child canvas" : ""}`;
    }
  }

  drawEdges(edges, { selection, problems }) {
    const byEdge = problemsBy(problems, "edge_id");
    this.edges = edges;
    this.paths = edgePaths(edges, this.boxes, this.blocks, this.canvasType);
    this.edgesByNode = new Map();
    const seen = new Set();
    for (const edge of edges) {
      if (!edge) continue;
      const id = String(edge.id);
      if (!this.paths.has(id) || seen.has(id)) continue;  // a repeated id: its first
      seen.add(id);
      for (const end of [String(edge.source), String(edge.target)]) {
        if (!this.edgesByNode.has(end)) this.edgesByNode.set(end, []);
        this.edgesByNode.get(end).push(edge);
      }
      let parts = this.edgeEls.get(id);
      if (!parts) {
        const g = el("g", { class: "edge", "data-edge-id": id }, this.layers.edges);
        parts = {
          g,
          line: el("path", { "marker-end": "url(#editor-arrow)" }, g),
          label: el("text", { class: "edge-label" }, g),
          // Wide and transparent, on top: an edge is easy to click.
          hit: el("path", { class: "hit" }, g),
          title: el("title", {}, g),
        };
        this.edgeEls.set(id, parts);
      }
      const label = (edge.data && edge.data.label) || "";
      if (parts.label.textContent !== label) parts.label.textContent = label;
      this.placeEdge(parts, this.paths.get(id));
      parts.g.classList.toggle("selected", selection.edges.has(edge.id));
      const messages = byEdge.get(id) || [];
      parts.g.classList.toggle("has-problem", messages.length > 0);
      parts.title.textContent = [`${id}: ${edge.source} → ${edge.target}`, ...messages].join("\n");
    }
    for (const [id, parts] of this.edgeEls) if (!seen.has(id)) { parts.g.remove(); this.edgeEls.delete(id); }
  }

  placeEdge(parts, { points, labelAt }) {
    const d = pathD(points);
    set(parts.hit, { d });
    set(parts.line, { d });
    const at = labelAt;
    set(parts.label, { x: at.x, y: at.y, "text-anchor": at.anchor, transform: at.rotate ? `rotate(${at.rotate} ${at.x} ${at.y})` : "" });
  }

  drawDots({ entities = [], dot, palette }) {
    const layer = this.layers.dots;
    layer.replaceChildren();
    this.layers.chips.replaceChildren();
    if (!entities.length) return;
    const nodes = Object.fromEntries(this.boxes);
    const lines = Object.fromEntries([...this.paths].map(([id, p]) => [id, { points: p.points }]));
    const byId = new Map(entities.map((e) => [e.id, e]));
    const { dots, chips } = dotPositions(entities, nodes, lines, dot);
    for (const [id, pos] of dots) {
      const entity = byId.get(id);
      const circle = el("circle", { class: "entity-dot", "data-entity-id": id, r: dot.r, cx: pos.cx, cy: pos.cy, fill: colorFor(entity.entity_type || "", palette), stroke: "#fff", "stroke-width": 1.5 }, layer);
      el("title", {}, circle).textContent = `${entity.name} (${entity.entity_type})`;
    }
    drawChips(this.layers.chips, chips);
  }

  // During a drag: move one node's box and its edges, nothing else.
  moveBox(id, x, y) {
    const box = this.boxes.get(id);
    const parts = this.nodeEls.get(id);
    if (!box || !parts) return;
    box.x = x;
    box.y = y;
    set(parts.g, { transform: `translate(${x} ${y})` });
    const mine = this.edgesByNode.get(id) || [];
    const ids = new Set(mine.map((edge) => String(edge.id)));
    // A routed edge avoids the others' paths, as drawn now.
    const others = [...this.paths].filter(([edgeId]) => !ids.has(edgeId)).map(([, p]) => p.points);
    const moved = edgePaths(mine, this.boxes, this.blocks, this.canvasType, others);
    for (const [edgeId, path] of moved) {
      this.paths.set(edgeId, path);
      const edgeParts = this.edgeEls.get(edgeId);
      if (edgeParts) this.placeEdge(edgeParts, path);
    }
  }

  // The rubber band shown while an edge is being drawn.
  draft(from, to) {
    const layer = this.layers.draft;
    layer.replaceChildren();
    if (!from) return;
    el("line", { class: "draft-edge", x1: from.x, y1: from.y, x2: to.x, y2: to.y }, layer);
  }

  highlightBlock(key) {
    for (const g of this.svg.querySelectorAll("[data-block]")) g.classList.toggle("drop-target", key !== null && g.dataset.block === key && (g.classList.contains("bmc-block") || this.boxes.get(g.dataset.nodeId)?.isBlock));
  }
}

function problemsBy(problems, key) {
  const out = new Map();
  for (const p of problems || []) {
    if (!p[key]) continue;
    if (!out.has(p[key])) out.set(p[key], []);
    out.get(p[key]).push(p.message);
  }
  return out;
}
