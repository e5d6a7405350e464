// The canvas editor: one implementation for the admin's Flow page and /flows/{id}/edit/.
// The form's graph textarea stays the value that is saved (through the same services
// as before); the editor keeps it in sync with its model, and the textarea is the raw
// JSON panel, one click away. Configuration: flows.editor.editor_config().

import { Inspector } from "./inspector.js";
import { Layout, bounds, kindOf } from "./layout.js";
import { GraphModel, undrawable } from "./model.js";
import { PanZoom } from "./panzoom.js";
import { EditorView } from "./view.js";

const VALIDATE_DELAY_MS = 350;
const DRAG_SLOP = 3;

function csrfToken(form) {
  const input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.split("=")[1]) : "";
}

function typing(event) {
  const target = event.target;
  return target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

export class Editor {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.textarea = document.getElementById(config.graphField);
    this.form = this.textarea.form;
    this.typeSelect = config.canvasTypeField ? document.getElementById(config.canvasTypeField) : null;
    this.layout = new Layout(config.layout);
    this.selection = { nodes: new Set(), edges: new Set() };
    this.problems = config.problems || [];
    this.validation = { seq: 0, timer: null, state: this.problems.length ? "invalid" : "unchecked" };
    this.dirty = false;
    this.submitting = false;
    this.quietInspector = false;
    this.addCount = 0;

    this.svg = root.querySelector("svg.editor-canvas");
    this.view = new EditorView(this.svg, this.layout);
    this.panzoom = new PanZoom(this.svg, { isBackground: (target) => this.pannable(target) });
    this.inspector = new Inspector(root.querySelector(".editor-inspector"), this);
    this.status = root.querySelector(".editor-status");
    this.problemList = root.querySelector(".editor-problems");
    this.jsonPanel = root.querySelector(".editor-json");
    this.jsonError = root.querySelector(".editor-json-error");

    this.model = new GraphModel({ nodes: [], edges: [] });
    this.loadFromTextarea();
    this.model.addEventListener("change", (event) => this.onModelChange(event.detail));
    this.wirePalette();
    this.wireToolbar();
    this.wirePointer();
    this.wireKeys();
    this.wireJson();
    this.wireForm();
    if (this.typeSelect) this.typeSelect.addEventListener("change", () => { this.redraw(); this.scheduleValidation(); });
    this.redraw();
    this.inspector.render();
    this.fit();
    this.showProblems();
    if (!this.problems.length) this.scheduleValidation(0);
    root.editor = this;  // for tests and the console
    root.dataset.ready = "true";
  }

  // A drag pans unless it starts on something it moves: a node (not a fixed BMC
  // block), an edge, a connector handle.
  pannable(target) {
    if (target.closest(".handle, .edge")) return false;
    const node = target.closest(".node");
    return !node || Boolean(this.view.boxes.get(node.dataset.nodeId)?.isBlock);
  }

  get canvasType() {
    return this.typeSelect ? this.typeSelect.value : this.config.canvasType;
  }

  loadFromTextarea() {
    let graph;
    try {
      graph = JSON.parse(this.textarea.value || '{"nodes": [], "edges": []}');
    } catch (error) {
      return this.showJsonError(`The JSON does not parse: ${error.message}. Fix it in the JSON panel.`);
    }
    const problem = undrawable(graph);
    if (problem) return this.showJsonError(`Cannot draw this graph (${problem}); edit it in the JSON panel.`);
    this.model.load(graph);
    this.showJsonError("");
  }

  showJsonError(message) {
    this.jsonError.textContent = message;
    this.root.classList.toggle("json-broken", Boolean(message));
    if (message) this.jsonPanel.hidden = false;
  }

  // --- model -> everything else -------------------------------------------------

  onModelChange({ kind }) {
    if (kind === "moving") return;
    this.dirty = true;
    if (kind !== "json") this.textarea.value = JSON.stringify(this.model.graph, null, 2);
    for (const id of [...this.selection.nodes]) if (!this.model.node(id)) this.selection.nodes.delete(id);
    for (const id of [...this.selection.edges]) if (!this.model.edge(id)) this.selection.edges.delete(id);
    this.redraw();
    if (!this.quietInspector) this.inspector.render();
    this.updateButtons();
    this.scheduleValidation();
  }

  // Changes made by the settings form: the form stays as it is (focus, caret).
  fromInspector(apply) {
    this.quietInspector = true;
    try {
      apply();
    } finally {
      this.quietInspector = false;
    }
  }

  redraw() {
    this.view.render(this.model.graph, this.canvasType, {
      selection: this.selection,
      problems: this.problems,
      entities: this.config.entities || [],
      dot: this.config.dot,
      palette: this.config.palette,
    });
    this.root.querySelector(".editor-count").textContent =
      `${this.model.graph.nodes.length} nodes · ${this.model.graph.edges.length} edges`;
  }

  updateButtons() {
    this.root.querySelector("[data-action=undo]").disabled = !this.model.canUndo;
    this.root.querySelector("[data-action=redo]").disabled = !this.model.canRedo;
    this.root.querySelector("[data-action=delete]").disabled = !(this.selection.nodes.size || this.selection.edges.size);
  }

  select(nodes = [], edges = [], { add = false } = {}) {
    if (!add) {
      this.selection.nodes.clear();
      this.selection.edges.clear();
    }
    for (const id of nodes) this.selection.nodes.add(id);
    for (const id of edges) this.selection.edges.add(id);
    this.redraw();
    this.inspector.render();
    this.updateButtons();
  }

  deleteSelection() {
    const nodes = [...this.selection.nodes];
    if (!nodes.length && !this.selection.edges.size) return;
    this.model.remove({ nodes, edges: [...this.selection.edges] });
    this.select();
  }

  fit() {
    const paths = [...this.view.paths.values()].map((p) => p.points);
    this.panzoom.fit(bounds([...this.view.boxes.values()], this.canvasType === "bmc" ? this.view.blocks : [], paths));
  }

  // --- adding nodes -------------------------------------------------------------

  wirePalette() {
    for (const button of this.root.querySelectorAll(".editor-palette [data-type]")) {
      button.addEventListener("click", () => {
        if (button.dataset.dragged) { delete button.dataset.dragged; return; }
        const { x, y, w, h } = this.panzoom.view;
        const offset = (this.addCount++ % 8) * 24;
        this.addNodeAt(button.dataset.type, { x: x + w / 2 - 90 + offset, y: y + h / 2 - 32 + offset });
      });
      button.addEventListener("pointerdown", (event) => this.dragFromPalette(event, button));
    }
  }

  dragFromPalette(event, button) {
    const start = { x: event.clientX, y: event.clientY };
    let moved = false;
    const move = (e) => {
      if (Math.hypot(e.clientX - start.x, e.clientY - start.y) > DRAG_SLOP) moved = true;
      if (moved) this.svg.classList.add("dropping");
    };
    const up = (e) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      this.svg.classList.remove("dropping");
      if (!moved) return;
      button.dataset.dragged = "1";
      setTimeout(() => delete button.dataset.dragged, 0);
      const rect = this.panzoom.screenRect();
      if (e.clientX < rect.left || e.clientX > rect.right || e.clientY < rect.top || e.clientY > rect.bottom) return;
      const p = this.panzoom.toCanvas(e.clientX, e.clientY);
      this.addNodeAt(button.dataset.type, { x: p.x - 90, y: p.y - 32 }, p);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  // A new node at `position`; on a BMC it joins the block under `at` (or its centre).
  addNodeAt(type, position, at = null) {
    const data = {};
    const point = at || { x: position.x + 90, y: position.y + 32 };
    const block = this.canvasType === "bmc" ? this.layout.blockAt(this.view.blocks, point.x, point.y) : null;
    if (block) {
      data.block = block.key;
      // A section dropped on an empty block becomes that block; anything else a card.
      if (type === "section" && block.nodeId === null) data.label = block.title;
      else position = this.freeSlot(block);
    }
    const id = this.model.addNode({ type, position, data });
    this.select([id]);
    return id;
  }

  // The first slot of a block no card occupies yet.
  freeSlot(block) {
    const taken = [...this.view.boxes.values()].filter((b) => b.block === block.key && !b.isBlock);
    for (let i = 0; i < 64; i += 1) {
      const slot = this.layout.slot(block, i);
      const inside = this.layout.inside(block, slot.x, slot.y);
      if (!taken.some((b) => Math.abs(b.x - inside.x) < 8 && Math.abs(b.y - inside.y) < 8)) return inside;
    }
    return this.layout.slot(block, 0);
  }

  // Put a node in a BMC block (null: outside), in the block's next free slot.
  putInBlock(id, key) {
    const block = key ? this.view.blocks.find((b) => b.key === key) : null;
    this.model.change("node-data", (g) => {
      const node = g.nodes.find((n) => n.id === id);
      if (!node) return;
      node.data = { ...(node.data || {}) };
      if (block) {
        node.data.block = block.key;
        const spot = this.freeSlot(block);
        node.position = { x: Math.round(spot.x), y: Math.round(spot.y) };
      } else {
        delete node.data.block;
      }
    });
  }

  // --- pointer: select, drag, connect, open -------------------------------------

  wirePointer() {
    this.svg.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      const handle = event.target.closest(".handle");
      const nodeEl = event.target.closest(".node");
      const edgeEl = event.target.closest(".edge");
      if (handle && nodeEl) return this.startConnect(event, nodeEl.dataset.nodeId);
      if (nodeEl) return this.startDrag(event, nodeEl.dataset.nodeId);
      if (edgeEl) return this.select([], [edgeEl.dataset.edgeId], { add: event.shiftKey });
      this.select();
    });
    this.svg.addEventListener("dblclick", (event) => {
      const nodeEl = event.target.closest(".node");
      const box = nodeEl && this.view.boxes.get(nodeEl.dataset.nodeId);
      if (box && box.child) this.openChild(box.child);
    });
  }

  openChild(childId) {
    const known = this.config.children.some((c) => c.id === childId);
    if (!known) return this.flash("That node names a flow that is not a child of this canvas.");
    if (this.dirty && !window.confirm("Leave without saving your changes?")) return;
    this.submitting = true;  // no second "leave page?" question
    window.location.href = this.config.childUrl.replace("__id__", childId);
  }

  startDrag(event, id) {
    const box = this.view.boxes.get(id);
    if (!box) return;
    if (event.shiftKey) {
      if (this.selection.nodes.has(id)) this.selection.nodes.delete(id);
      else this.selection.nodes.add(id);
      this.select([...this.selection.nodes], [...this.selection.edges]);
      return;
    }
    if (!this.selection.nodes.has(id)) this.select([id]);
    // BMC blocks are fixed: the nine-block layout places them.
    const moving = [...this.selection.nodes].filter((n) => !this.view.boxes.get(n)?.isBlock);
    if (!moving.length) return;
    const start = this.panzoom.toCanvas(event.clientX, event.clientY);
    const origin = new Map(moving.map((n) => [n, { x: this.view.boxes.get(n).x, y: this.view.boxes.get(n).y }]));
    const gesture = this.model.gesture();
    let moved = false;
    const move = (e) => {
      const p = this.panzoom.toCanvas(e.clientX, e.clientY);
      const dx = p.x - start.x;
      const dy = p.y - start.y;
      if (!moved && Math.hypot(dx, dy) * this.panzoom.scale < DRAG_SLOP) return;
      moved = true;
      for (const [n, o] of origin) this.view.moveBox(n, o.x + dx, o.y + dy);
      if (this.canvasType === "bmc") this.view.highlightBlock(this.layout.blockAt(this.view.blocks, p.x, p.y)?.key ?? null);
    };
    const up = (e) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      this.view.highlightBlock(null);
      if (!moved) return;
      const p = this.panzoom.toCanvas(e.clientX, e.clientY);
      const dx = p.x - start.x;
      const dy = p.y - start.y;
      const block = this.canvasType === "bmc" ? this.layout.blockAt(this.view.blocks, p.x, p.y) : null;
      for (const [n, o] of origin) {
        let position = { x: o.x + dx, y: o.y + dy };
        if (this.canvasType === "bmc") {
          // Dropped on a block it belongs there (an empty block takes a section).
          gesture.patch(n, { block: block ? block.key : null });
          const becomesBlock = block && block.nodeId === null && kindOf(this.model.node(n).type) === "section";
          if (block && !becomesBlock) position = this.layout.inside(block, position.x, position.y);
        }
        gesture.move(n, position);
      }
      gesture.end();
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  startConnect(event, source) {
    event.stopPropagation();
    const from = this.view.boxes.get(source);
    const anchor = { x: from.x + from.w, y: from.y + from.h / 2 };
    const move = (e) => this.view.draft(anchor, this.panzoom.toCanvas(e.clientX, e.clientY));
    const up = (e) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      this.view.draft(null);
      const under = document.elementFromPoint(e.clientX, e.clientY);
      const target = under && under.closest(".editor-canvas .node");
      if (!target) return;
      const targetId = target.dataset.nodeId;
      const refusal = this.model.edgeRefusal(source, targetId);
      if (refusal) {
        if (targetId !== source) this.flash(`No edge: ${refusal}.`);
        return;
      }
      const id = this.model.addEdge(source, targetId);
      this.select([], [id]);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  // --- keys, toolbar, JSON, form ------------------------------------------------

  wireKeys() {
    document.addEventListener("keydown", (event) => {
      if (typing(event)) return;
      const key = event.key.toLowerCase();
      const mod = event.ctrlKey || event.metaKey;
      if (key === "delete" || key === "backspace") {
        if (this.selection.nodes.size || this.selection.edges.size) {
          event.preventDefault();
          this.deleteSelection();
        }
      } else if (mod && key === "z") {
        event.preventDefault();
        if (event.shiftKey) this.model.redo(); else this.model.undo();
      } else if (mod && key === "y") {
        event.preventDefault();
        this.model.redo();
      } else if (key === "escape") {
        this.select();
      }
    });
  }

  wireToolbar() {
    const actions = {
      undo: () => this.model.undo(),
      redo: () => this.model.redo(),
      delete: () => this.deleteSelection(),
      fit: () => this.fit(),
      "zoom-in": () => this.panzoom.zoomCenter(0.8),
      "zoom-out": () => this.panzoom.zoomCenter(1.25),
      json: () => { this.jsonPanel.hidden = !this.jsonPanel.hidden; },
      save: () => this.save(),
    };
    for (const button of this.root.querySelectorAll(".editor-toolbar [data-action]")) {
      button.addEventListener("click", () => actions[button.dataset.action]());
    }
    this.updateButtons();
  }

  wireJson() {
    this.jsonPanel.append(this.textarea);
    this.textarea.addEventListener("input", () => {
      let graph;
      try {
        graph = JSON.parse(this.textarea.value);
      } catch (error) {
        this.showJsonError(`Not valid JSON yet: ${error.message}`);
        return;
      }
      const problem = undrawable(graph);
      if (problem) {
        this.showJsonError(`Cannot draw this graph: ${problem}.`);
        return;
      }
      this.showJsonError("");
      this.model.replace(graph, { kind: "json", coalesce: "json" });
    });
  }

  wireForm() {
    this.form.addEventListener("submit", () => { this.submitting = true; });
    window.addEventListener("beforeunload", (event) => {
      if (this.dirty && !this.submitting) event.preventDefault();
    });
  }

  save() {
    const submitter = this.form.querySelector(this.config.saveButton || "[type=submit]");
    this.submitting = true;
    this.form.requestSubmit(submitter || undefined);
  }

  flash(message) {
    const note = this.root.querySelector(".editor-flash");
    note.textContent = message;
    note.hidden = false;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => { note.hidden = true; }, 4000);
  }

  // --- validation ---------------------------------------------------------------

  scheduleValidation(delay = VALIDATE_DELAY_MS) {
    clearTimeout(this.validation.timer);
    this.setStatus("checking", "checking…");
    this.validation.timer = setTimeout(() => this.validate(), delay);
  }

  async validate() {
    const seq = ++this.validation.seq;
    let graph;
    try {
      graph = JSON.parse(this.textarea.value);
    } catch {
      return this.setStatus("invalid", "the JSON does not parse");
    }
    let response;
    try {
      response = await fetch(this.config.validateUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(this.form) },
        body: JSON.stringify({ graph, canvas_type: this.canvasType }),
      });
    } catch {
      if (seq === this.validation.seq) this.setStatus("unchecked", "could not reach the server to check");
      return;
    }
    if (seq !== this.validation.seq) return;  // a newer check is on its way
    if (!response.ok) return this.setStatus("unchecked", `check failed (${response.status})`);
    const result = await response.json();
    this.problems = result.problems;
    this.showProblems();
    this.redraw();
    if (!this.quietInspector && !this.root.contains(document.activeElement)) this.inspector.render();
  }

  setStatus(state, text) {
    this.status.dataset.state = state;
    this.status.textContent = text;
    this.root.dataset.validation = state;
  }

  showProblems() {
    const list = this.problemList;
    list.replaceChildren();
    for (const problem of this.problems) {
      const li = document.createElement("li");
      const where = problem.node_id ? `node ${problem.node_id}` : problem.edge_id ? `edge ${problem.edge_id}` : "graph";
      li.textContent = `${where}: ${problem.message}`;
      li.dataset.nodeId = problem.node_id || "";
      li.dataset.edgeId = problem.edge_id || "";
      li.addEventListener("click", () => this.select(problem.node_id ? [problem.node_id] : [], problem.edge_id ? [problem.edge_id] : []));
      list.append(li);
    }
    const count = this.problems.length;
    if (count) this.setStatus("invalid", `${count} problem${count > 1 ? "s" : ""}`);
    else this.setStatus("valid", "no problems");
  }
}

const root = document.querySelector("[data-canvas-editor]");
if (root) {
  const config = JSON.parse(document.getElementById(root.dataset.config).textContent);
  new Editor(root, config);
}
