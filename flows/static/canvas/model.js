// The editor's model: a graph ({nodes, edges}) and the operations an operator performs
// on it, each one undoable. No DOM here, so it can be driven and checked on its own
// (tests/canvas/test_editor_model.py does so in Chromium).
//
// Fields the editor does not know are kept as they are: what comes in as JSON goes out
// as JSON with only the edited parts changed.

export const EXECUTABLE_TYPES = ["Worker", "Splitter", "Collector", "UX"];
export const CANVAS_TYPES = ["section", "item", "note"];
const HISTORY_LIMIT = 200;

const clone = (value) => structuredClone(value);

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// Empty strings, null and undefined remove a key: a form field left blank means "not set".
function patched(data, patch) {
  const out = { ...(isObject(data) ? data : {}) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined || value === null || value === "") delete out[key];
    else out[key] = value;
  }
  return out;
}

// Why a graph cannot be drawn (the raw JSON then stays the only way to edit it), or null.
export function undrawable(graph) {
  if (!isObject(graph)) return "the graph must be an object with nodes and edges";
  if (!Array.isArray(graph.nodes)) return "graph.nodes must be a list";
  if (graph.edges !== undefined && !Array.isArray(graph.edges)) return "graph.edges must be a list";
  if (!graph.nodes.every(isObject)) return "every node must be an object";
  if (!(graph.edges || []).every(isObject)) return "every edge must be an object";
  return null;
}

// "worker-1", "splitter-2"...: readable, and never "{id}_{n}", which the engine would
// take for a parallel instance of another node.
// With `bare`, the prefix itself is tried first ("e-a-b", then "e-a-b-2").
export function freshId(prefix, taken, { bare = false } = {}) {
  const base = String(prefix).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "node";
  if (bare && !taken.has(base)) return base;
  for (let n = bare ? 2 : 1; ; n += 1) {
    const id = `${base}-${n}`;
    if (!taken.has(id)) return id;
  }
}

export class GraphModel extends EventTarget {
  constructor(graph = { nodes: [], edges: [] }) {
    super();
    this.load(graph);
  }

  // Replace everything and forget the history (a page load).
  load(graph) {
    const problem = undrawable(graph);
    if (problem) throw new TypeError(problem);
    this.graph = clone(graph);
    if (!this.graph.edges) this.graph.edges = [];
    this.undoStack = [];
    this.redoStack = [];
    this.coalesceKey = null;
    this.emit("load");
  }

  toJSON() {
    return clone(this.graph);
  }

  node(id) {
    return this.graph.nodes.find((n) => n.id === id) || null;
  }

  edge(id) {
    return this.graph.edges.find((e) => e.id === id) || null;
  }

  ids() {
    return new Set([...this.graph.nodes, ...this.graph.edges].map((item) => item.id));
  }

  get canUndo() {
    return this.undoStack.length > 0;
  }

  get canRedo() {
    return this.redoStack.length > 0;
  }

  emit(kind, detail = {}) {
    this.dispatchEvent(new CustomEvent("change", { detail: { kind, ...detail } }));
  }

  // Every operation goes through here: remember the graph as it was, apply, announce.
  // Consecutive changes with the same `coalesce` key (typing in one field) are one step.
  change(kind, mutate, { coalesce = null } = {}) {
    const before = clone(this.graph);
    const result = mutate(this.graph);
    if (JSON.stringify(before) === JSON.stringify(this.graph)) return result;
    if (!(coalesce && coalesce === this.coalesceKey)) {
      this.undoStack.push(before);
      if (this.undoStack.length > HISTORY_LIMIT) this.undoStack.shift();
    }
    this.coalesceKey = coalesce;
    this.redoStack = [];
    this.emit(kind);
    return result;
  }

  undo() {
    if (!this.canUndo) return false;
    this.redoStack.push(this.graph);
    this.graph = this.undoStack.pop();
    this.coalesceKey = null;
    this.emit("undo");
    return true;
  }

  redo() {
    if (!this.canRedo) return false;
    this.undoStack.push(this.graph);
    this.graph = this.redoStack.pop();
    this.coalesceKey = null;
    this.emit("redo");
    return true;
  }

  addNode({ type, position = { x: 0, y: 0 }, data = {}, id = null }) {
    const nodeId = id || freshId(type, this.ids());
    const label = data.label || (EXECUTABLE_TYPES.includes(type) ? type : type.charAt(0).toUpperCase() + type.slice(1));
    const node = { id: nodeId, type, position: roundPoint(position), data: { ...data, label } };
    return this.change("add-node", (g) => {
      g.nodes.push(node);
      return nodeId;
    });
  }

  // Nodes and edges at once (the Delete key on a selection); a node takes its edges along.
  remove({ nodes = [], edges = [] }) {
    const goneNodes = new Set(nodes);
    const goneEdges = new Set(edges);
    return this.change("remove", (g) => {
      g.nodes = g.nodes.filter((n) => !goneNodes.has(n.id));
      g.edges = g.edges.filter((e) => !goneEdges.has(e.id) && !goneNodes.has(e.source) && !goneNodes.has(e.target));
    });
  }

  moveNode(id, position) {
    this.change("move", (g) => {
      const node = g.nodes.find((n) => n.id === id);
      if (node) node.position = roundPoint(position);
    });
  }

  // A drag: many moves, one undo step. end() records it (if anything moved).
  gesture() {
    const before = clone(this.graph);
    return {
      move: (id, position) => {
        const node = this.graph.nodes.find((n) => n.id === id);
        if (node) node.position = roundPoint(position);
        this.emit("moving", { id });
      },
      patch: (id, patch) => {
        const node = this.graph.nodes.find((n) => n.id === id);
        if (node) node.data = patched(node.data, patch);
      },
      end: () => {
        if (JSON.stringify(before) === JSON.stringify(this.graph)) return false;
        this.undoStack.push(before);
        if (this.undoStack.length > HISTORY_LIMIT) this.undoStack.shift();
        this.redoStack = [];
        this.coalesceKey = null;
        this.emit("move");
        return true;
      },
    };
  }

  // Why an edge from source to target cannot be drawn, or null.
  edgeRefusal(source, target) {
    if (!this.node(source) || !this.node(target)) return "both ends must be nodes";
    if (source === target) return "an edge cannot loop back to its own node";
    if (this.graph.edges.some((e) => e.source === source && e.target === target)) return "these nodes are already connected";
    return null;
  }

  addEdge(source, target, data = undefined) {
    const refusal = this.edgeRefusal(source, target);
    if (refusal) throw new RangeError(refusal);
    const id = freshId(`e-${source}-${target}`, this.ids(), { bare: true });
    const edge = { id, source, target, ...(data && Object.keys(data).length ? { data } : {}) };
    return this.change("add-edge", (g) => {
      g.edges.push(edge);
      return id;
    });
  }

  updateNodeData(id, patch, options) {
    this.change("node-data", (g) => {
      const node = g.nodes.find((n) => n.id === id);
      if (node) node.data = patched(node.data, patch);
    }, options);
  }

  updateEdgeData(id, patch, options) {
    this.change("edge-data", (g) => {
      const edge = g.edges.find((e) => e.id === id);
      if (!edge) return;
      const data = patched(edge.data, patch);
      if (Object.keys(data).length) edge.data = data;
      else delete edge.data;
    }, options);
  }

  // The raw JSON panel: the whole graph at once, one undo step (typing: `coalesce`).
  replace(graph, { kind = "replace", coalesce = null } = {}) {
    const problem = undrawable(graph);
    if (problem) throw new TypeError(problem);
    this.change(kind, (g) => {
      for (const key of Object.keys(g)) delete g[key];
      Object.assign(g, clone(graph));
      if (!g.edges) g.edges = [];
    }, { coalesce });
  }
}

function roundPoint({ x, y }) {
  return { x: Math.round(Number(x) || 0), y: Math.round(Number(y) || 0) };
}
