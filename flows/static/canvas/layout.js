// Where each node is drawn: the same rules as flows/layout.py (read its docstring),
// with the numbers handed over by the page (flows.layout.layout_settings()).
// A BMC node names its block in data.block; the first `section` naming a block is the
// block; other nodes naming a block are cards clamped inside it; the rest stay free.

import { labelPlace, route, straight } from "./routes.js";

const EXECUTABLE = new Set(["worker", "splitter", "collector", "ux"]);
const KINDS = new Set([...EXECUTABLE, "section", "item", "note"]);

export function kindOf(type) {
  const kind = String(type || "").toLowerCase();
  return KINDS.has(kind) ? kind : "other";
}

export function isExecutable(type) {
  return EXECUTABLE.has(String(type || "").toLowerCase());
}

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const clamp = (v, low, high) => Math.max(low, Math.min(v, Math.max(low, high)));

export class Layout {
  constructor(settings) {
    this.s = settings;
    [this.nodeW, this.nodeH] = settings.node;
    [this.sectionW, this.sectionH] = settings.section;
    [this.itemW, this.itemH, this.itemGap] = settings.item;
    [this.pad, this.titleH, this.footH] = settings.block;
  }

  claim(nodes, canvasType) {
    const blocks = new Map();
    if (canvasType !== "bmc") return blocks;
    for (const b of this.s.blocks) blocks.set(b.key, { ...b, nodeId: null });
    for (const node of nodes) {
      const key = node.data && node.data.block;
      const block = typeof key === "string" ? blocks.get(key) : undefined;
      if (block && block.nodeId === null && kindOf(node.type) === "section") block.nodeId = node.id;
    }
    return blocks;
  }

  slot(block, index) {
    const inner = block.w - 2 * this.pad;
    const columns = Math.max(1, Math.floor((inner + this.itemGap) / (this.itemW + this.itemGap)));
    const row = Math.floor(index / columns);
    const column = index % columns;
    return {
      x: block.x + this.pad + column * (this.itemW + this.itemGap),
      y: block.y + this.titleH + row * (this.itemH + this.itemGap),
    };
  }

  inside(block, x, y) {
    const width = Math.min(this.itemW, block.w - 2 * this.pad);
    return {
      x: clamp(x, block.x + this.pad, block.x + block.w - this.pad - width),
      y: clamp(y, block.y + this.titleH, block.y + block.h - this.footH - this.itemH),
    };
  }

  // {boxes: Map id -> {id, type, kind, label, x, y, w, h, block, isBlock, child}, blocks: [...]}
  place(graph, canvasType) {
    const nodes = (graph.nodes || []).filter((n) => n && typeof n === "object");
    const blocks = this.claim(nodes, canvasType);
    const unplaced = new Map();
    const boxes = new Map();
    nodes.forEach((node, index) => {
      const data = node.data && typeof node.data === "object" ? node.data : {};
      const kind = kindOf(node.type);
      const position = node.position && typeof node.position === "object" ? node.position : {};
      let x = num(position.x);
      let y = num(position.y);
      const block = typeof data.block === "string" ? blocks.get(data.block) : undefined;
      const isBlock = Boolean(block && block.nodeId === node.id);
      let box;
      if (isBlock) {
        box = { x: block.x, y: block.y, w: block.w, h: block.h };
      } else if (block) {
        if (x === null || y === null) {
          const n = unplaced.get(block.key) || 0;
          ({ x, y } = this.slot(block, n));
          unplaced.set(block.key, n + 1);
        }
        box = { ...this.inside(block, x, y), w: Math.min(this.itemW, block.w - 2 * this.pad), h: this.itemH };
      } else {
        const [w, h] = kind === "section" ? [this.sectionW, this.sectionH] : [this.nodeW, this.nodeH];
        box = {
          x: x !== null ? x : (index % 4) * (this.nodeW + 60),
          y: y !== null ? y : Math.floor(index / 4) * (this.nodeH + 80),
          w,
          h,
        };
      }
      const id = String(node.id);
      const label = String(data.label || (isBlock ? block.title : "") || id);
      const child = typeof data.childFlowId === "string" && data.childFlowId ? data.childFlowId : null;
      boxes.set(id, { id, type: String(node.type || ""), kind, label, ...box, block: block ? block.key : null, isBlock, child });
    });
    return { boxes, blocks: [...blocks.values()] };
  }

  // The block under a point (dropping a node there puts it in that block), or null.
  blockAt(blocks, x, y) {
    return blocks.find((b) => x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h) || null;
  }
}

const rect = (b) => [b.x, b.y, b.w, b.h];

// What a routed edge keeps out of (entities/picture.py's _obstacles).
function obstacles(boxes, blocks, source, target) {
  const homes = new Set([source, target].filter((b) => b.block !== null && !b.isBlock).map((b) => b.block));
  const out = blocks.filter((b) => b.nodeId === null && !homes.has(b.key)).map(rect);
  for (const box of boxes.values()) {
    if (box.id === source.id || box.id === target.id) continue;
    if (box.isBlock) {
      if (!homes.has(box.block)) out.push(rect(box));
    } else if (box.block === null || homes.has(box.block)) {
      out.push(rect(box));
    }
  }
  return out;
}

// Every drawable edge's path in graph order (entities/picture.py's _lines): Map id ->
// {points, labelAt}. On a BMC routed through the gutters, else straight.
// `before`: paths already drawn, which these avoid crossing (a drag re-routes only the
// moved node's edges; the next full drawing routes them all in order).
export function edgePaths(edges, boxes, blocks, canvasType, before = []) {
  const out = new Map();
  const earlier = [...before];
  for (const edge of edges || []) {
    if (!edge || typeof edge !== "object") continue;
    const source = boxes.get(String(edge.source));
    const target = boxes.get(String(edge.target));
    const id = String(edge.id);
    if (!source || !target || out.has(id)) continue;
    const label = String((edge.data && typeof edge.data === "object" && edge.data.label) || edge.label || "");
    let points = null;
    if (canvasType === "bmc" && source.id !== target.id) {
      points = route(rect(source), rect(target), obstacles(boxes, blocks, source, target), earlier);
    }
    if (points === null) points = straight(rect(source), rect(target));
    earlier.push(points);
    out.set(id, { points, labelAt: labelPlace(points, label) });
  }
  return out;
}

// What a fit shows: the boxes, the blocks, and the edge paths with room for their
// labels (a route may run round the outside of the BMC).
export function bounds(boxes, blocks = [], paths = []) {
  const margin = 24;
  const rects = [...boxes, ...blocks];
  for (const points of paths) {
    for (const [x, y] of points) rects.push({ x: x - margin, y: y - margin, w: 2 * margin, h: 2 * margin });
  }
  if (!rects.length) return { x: -200, y: -150, w: 400, h: 300 };
  const left = Math.min(...rects.map((r) => r.x));
  const top = Math.min(...rects.map((r) => r.y));
  const right = Math.max(...rects.map((r) => r.x + r.w));
  const bottom = Math.max(...rects.map((r) => r.y + r.h));
  return { x: left, y: top, w: right - left, h: bottom - top };
}
