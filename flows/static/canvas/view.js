// Draws an editor's graph into an SVG (same classes as the server's picture, so
// canvas.css styles both). Elements are kept per id and only their attributes are
// updated, and a dragged node moves alone with its edges, so 300 nodes stay cheap.

import { colorFor, dotPositions } from "./dots.js";
import { edgeLine, isExecutable } from "./layout.js";

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
    for (const name of ["blocks", "sections", "edges", "nodes", "dots", "draft"]) {
      this.layers[name] = el("g", { class: name }, svg);
    }
    this.nodeEls = new Map();
    this.edgeEls = new Map();
    this.blockEls = new Map();
    this.boxes = new Map();
    this.blocks = [];
    this.edgesByNode = new Map();
  }

  // Draw `graph` as laid out for `canvasType`; `state`: {selection, problems, entities, dot, palette}.
  render(graph, canvasType, state) {
    const { boxes, blocks } = this.layout.place(graph, canvasType);
    this.boxes = boxes;
    this.blocks = blocks;
    this.svg.dataset.canvasType = canvasType;
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
    const seen = new Set();
    this.edgesByNode = new Map();
    for (const edge of edges) {
      const source = this.boxes.get(String(edge.source));
      const target = this.boxes.get(String(edge.target));
      if (!source || !target || seen.has(edge.id)) continue;
      seen.add(edge.id);
      for (const end of [source.id, target.id]) {
        if (!this.edgesByNode.has(end)) this.edgesByNode.set(end, []);
        this.edgesByNode.get(end).push(edge);
      }
      let parts = this.edgeEls.get(edge.id);
      if (!parts) {
        const g = el("g", { class: "edge", "data-edge-id": edge.id }, this.layers.edges);
        parts = {
          g,
          line: el("line", { "marker-end": "url(#editor-arrow)" }, g),
          label: el("text", { "text-anchor": "middle", dy: -6 }, g),
          // Wide and transparent, on top: an edge is easy to click.
          hit: el("line", { class: "hit" }, g),
          title: el("title", {}, g),
        };
        this.edgeEls.set(edge.id, parts);
      }
      this.placeEdge(parts, source, target);
      const label = (edge.data && edge.data.label) || "";
      if (parts.label.textContent !== label) parts.label.textContent = label;
      parts.g.classList.toggle("selected", selection.edges.has(edge.id));
      const messages = byEdge.get(edge.id) || [];
      parts.g.classList.toggle("has-problem", messages.length > 0);
      parts.title.textContent = [`${edge.id}: ${edge.source} → ${edge.target}`, ...messages].join("\n");
    }
    for (const [id, parts] of this.edgeEls) if (!seen.has(id)) { parts.g.remove(); this.edgeEls.delete(id); }
  }

  placeEdge(parts, source, target) {
    const line = edgeLine(source, target, this.layout.footH);
    set(parts.hit, line);
    set(parts.line, line);
    set(parts.label, { x: (line.x1 + line.x2) / 2, y: (line.y1 + line.y2) / 2 });
  }

  drawDots({ entities = [], dot, palette }) {
    const layer = this.layers.dots;
    layer.replaceChildren();
    if (!entities.length) return;
    const nodes = Object.fromEntries(this.boxes);
    const lines = {};
    for (const [id, parts] of this.edgeEls) {
      lines[id] = Object.fromEntries(["x1", "y1", "x2", "y2"].map((k) => [k, Number(parts.line.getAttribute(k))]));
    }
    const byId = new Map(entities.map((e) => [e.id, e]));
    for (const [id, pos] of dotPositions(entities, nodes, lines, dot)) {
      const entity = byId.get(id);
      const circle = el("circle", { class: "entity-dot", "data-entity-id": id, r: dot.r, cx: pos.cx, cy: pos.cy, fill: colorFor(entity.entity_type || "", palette), stroke: "#fff", "stroke-width": 1.5 }, layer);
      el("title", {}, circle).textContent = `${entity.name} (${entity.entity_type})`;
    }
  }

  // During a drag: move one node's box and its edges, nothing else.
  moveBox(id, x, y) {
    const box = this.boxes.get(id);
    const parts = this.nodeEls.get(id);
    if (!box || !parts) return;
    box.x = x;
    box.y = y;
    set(parts.g, { transform: `translate(${x} ${y})` });
    for (const edge of this.edgesByNode.get(id) || []) {
      const edgeParts = this.edgeEls.get(edge.id);
      const source = this.boxes.get(String(edge.source));
      const target = this.boxes.get(String(edge.target));
      if (edgeParts && source && target) this.placeEdge(edgeParts, source, target);
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
