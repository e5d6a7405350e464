// The settings form of the selected node or edge: the fields its type uses, written
// into the model as the operator types (one undo step per field).

import { isExecutable, kindOf } from "./layout.js";

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function field(label, input, help = "") {
  return h("label", { class: "field" }, h("span", {}, label), input, help ? h("small", {}, help) : null);
}

const numberOrBlank = (value) => (value === "" ? "" : Number(value));

export class Inspector {
  constructor(container, editor) {
    this.container = container;
    this.editor = editor;
  }

  get model() {
    return this.editor.model;
  }

  render() {
    const { nodes, edges } = this.editor.selection;
    this.container.replaceChildren();
    if (nodes.size + edges.size > 1) return this.container.append(this.multi(nodes.size, edges.size));
    const nodeId = [...nodes][0];
    const edgeId = [...edges][0];
    const node = nodeId && this.model.node(nodeId);
    const edge = edgeId && this.model.edge(edgeId);
    if (node) this.container.append(this.nodeForm(node));
    else if (edge) this.container.append(this.edgeForm(edge));
    else this.container.append(this.help());
  }

  // An input bound to one data key of the selected node or edge.
  bind(input, item, key, { kind = "node", parse = (v) => v, read = (v) => v ?? "" } = {}) {
    const data = item.data || {};
    if (input.type === "checkbox") input.checked = Boolean(data[key]);
    else input.value = read(data[key]);
    input.name = `${kind}-${key}`;
    input.dataset.field = key;
    const event = input.tagName === "SELECT" || input.type === "checkbox" ? "change" : "input";
    input.addEventListener(event, () => {
      const value = input.type === "checkbox" ? input.checked || "" : parse(input.value);
      if (value === undefined) return;
      this.editor.fromInspector(() => {
        const update = kind === "node" ? "updateNodeData" : "updateEdgeData";
        this.model[update](item.id, { [key]: value }, { coalesce: `${item.id}:${key}` });
      });
    });
    return input;
  }

  header(title, item, kind) {
    const remove = h("button", { type: "button", class: "danger", dataset: { action: "delete" } }, "Delete");
    remove.addEventListener("click", () => this.editor.deleteSelection());
    return h("div", { class: "inspector-head" }, h("h3", {}, title), h("code", { title: `${kind} id` }, item.id), remove);
  }

  problems(key, id) {
    const mine = this.editor.problems.filter((p) => p[key] === id);
    if (!mine.length) return null;
    return h("ul", { class: "problems-here" }, ...mine.map((p) => h("li", {}, p.message)));
  }

  nodeForm(node) {
    const kind = kindOf(node.type);
    const form = h("div", { class: "inspector-form", dataset: { nodeId: node.id } });
    form.append(this.header(node.type || "Node", node, "node"));
    form.append(this.problems("node_id", node.id) || "");
    const label = kind === "note" ? h("textarea", { rows: 3 }) : h("input", { type: "text" });
    form.append(field("Label", this.bind(label, node, "label")));
    if (kind === "worker") form.append(...this.workerFields(node));
    if (kind === "splitter") {
      form.append(field("Array path", this.bind(h("input", { type: "text", placeholder: "$.items" }), node, "arrayPath"),
        "JSONPath (or dot path) of the array in the input; one branch runs per element."));
    }
    if (this.editor.canvasType === "bmc" && !isExecutable(node.type)) form.append(this.blockField(node));
    form.append(this.childField(node));
    if (isExecutable(node.type)) form.append(this.movementFields(node));
    form.append(this.extraField(node));
    return form;
  }

  workerFields(node) {
    const data = node.data || {};
    const config = this.editor.config;
    const mode = h("select", { dataset: { field: "runsOn" } },
      h("option", { value: "builtin" }, "a built-in worker"), h("option", { value: "http" }, "an HTTP worker (webhook URL)"));
    mode.value = data.webhookUrl ? "http" : "builtin";
    const workerType = h("select", {}, h("option", { value: "" }, "— choose —"),
      ...config.workerTypes.map((t) => h("option", { value: t }, t)));
    const url = h("input", { type: "url", placeholder: "https://worker.example.com/hook" });
    const typeField = field("Worker type", this.bind(workerType, node, "workerType"));
    const urlField = field("Webhook URL", this.bind(url, node, "webhookUrl"), "Receives a signed POST and calls back.");
    const show = () => {
      typeField.hidden = mode.value !== "builtin";
      urlField.hidden = mode.value !== "http";
    };
    mode.addEventListener("change", () => {
      // One way of running at a time: switching clears the other.
      this.editor.fromInspector(() => this.model.updateNodeData(node.id, mode.value === "http" ? { workerType: null } : { webhookUrl: null }));
      show();
    });
    show();
    const defaults = config.workerDefaults;
    const number = (key, label, help) => field(label,
      this.bind(h("input", { type: "number", min: key === "retries" ? 0 : 1, step: 1, placeholder: `default ${defaults[key]}` }), node, key, { parse: numberOrBlank }), help);
    return [
      field("Runs on", mode),
      typeField,
      urlField,
      number("timeoutSeconds", "Timeout (seconds)", "For the dispatch request."),
      number("retries", "Retries", "On network errors, timeouts, 5xx and 429."),
      number("callbackTimeoutSeconds", "Callback timeout (seconds)", "Fails the node when no callback came."),
    ];
  }

  blockField(node) {
    const select = h("select", {}, h("option", { value: "" }, "— outside the nine blocks —"),
      ...this.editor.config.layout.blocks.map((b) => h("option", { value: b.key }, b.title)));
    select.value = (node.data && node.data.block) || "";
    select.dataset.field = "block";
    select.name = "node-block";
    select.addEventListener("change", () => this.editor.fromInspector(() => this.editor.putInBlock(node.id, select.value || null)));
    return field("BMC block", select, "Where the node sits on the Business Model Canvas (data.block).");
  }

  childField(node) {
    const children = this.editor.config.children;
    const current = (node.data && node.data.childFlowId) || "";
    const select = h("select", {}, h("option", { value: "" }, children.length ? "— none —" : "— this canvas has no children yet —"),
      ...children.map((c) => h("option", { value: c.id }, `${c.name} (${c.canvas_type})`)));
    if (current && !children.some((c) => c.id === current)) select.append(h("option", { value: current }, `${current} (not a child of this canvas)`));
    return field("Opens child canvas", this.bind(select, node, "childFlowId"), "Double-click the node to open it.");
  }

  movementFields(node) {
    const movement = (node.data && node.data.entityMovement) || {};
    const box = h("fieldset", { class: "movement" }, h("legend", {}, "Move the entity"));
    const targets = this.editor.config.movementTargets;
    const listId = "movement-targets";
    if (!document.getElementById(listId)) {
      document.body.append(h("datalist", { id: listId }, ...targets.map((t) => h("option", { value: t.id }, t.label))));
    }
    for (const [outcome, title] of [["onSuccess", "when it succeeds"], ["onFailure", "when it fails"]]) {
      const current = movement[outcome] || {};
      const target = h("input", { type: "text", list: listId, value: current.targetNodeId || "", placeholder: "node id on the entity's canvas" });
      const type = h("input", { type: "text", value: current.setEntityType || "", placeholder: "unchanged" });
      target.name = `node-${outcome}-target`;
      type.name = `node-${outcome}-type`;
      const write = () => this.editor.fromInspector(() => {
        const next = { ...((this.model.node(node.id).data || {}).entityMovement || {}) };
        if (target.value.trim()) next[outcome] = { targetNodeId: target.value.trim(), ...(type.value.trim() ? { setEntityType: type.value.trim() } : {}) };
        else delete next[outcome];
        this.model.updateNodeData(node.id, { entityMovement: Object.keys(next).length ? next : null }, { coalesce: `${node.id}:movement:${outcome}` });
      });
      target.addEventListener("input", write);
      type.addEventListener("input", write);
      box.append(h("div", { class: "pair" }, h("strong", {}, title), field("to node", target), field("as type", type)));
    }
    return box;
  }

  // Keys no field above covers (a built-in worker's own settings, UX `fields`...), as JSON.
  extraField(node) {
    const known = new Set(["label", "workerType", "webhookUrl", "timeoutSeconds", "retries", "callbackTimeoutSeconds", "arrayPath", "block", "childFlowId", "entityMovement"]);
    const extra = Object.fromEntries(Object.entries(node.data || {}).filter(([k]) => !known.has(k)));
    const area = h("textarea", { rows: 3, placeholder: '{"seconds": 5}', name: "node-extra" });
    area.value = Object.keys(extra).length ? JSON.stringify(extra, null, 2) : "";
    const error = h("small", { class: "error" });
    area.addEventListener("input", () => {
      let parsed;
      try {
        parsed = area.value.trim() ? JSON.parse(area.value) : {};
      } catch (e) {
        error.textContent = `Not JSON yet: ${e.message}`;
        return;
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        error.textContent = "Other settings must be a JSON object.";
        return;
      }
      error.textContent = "";
      const patch = Object.fromEntries(Object.keys(extra).map((k) => [k, null]));
      for (const [k, v] of Object.entries(parsed)) if (!known.has(k)) patch[k] = v;
      this.editor.fromInspector(() => this.model.updateNodeData(node.id, patch, { coalesce: `${node.id}:extra` }));
      for (const k of Object.keys(extra)) delete extra[k];
      Object.assign(extra, parsed);
    });
    return h("details", { class: "extra", open: Object.keys(extra).length > 0 }, h("summary", {}, "Other settings (JSON)"), area, error);
  }

  edgeForm(edge) {
    const form = h("div", { class: "inspector-form", dataset: { edgeId: edge.id } });
    form.append(this.header("Edge", edge, "edge"));
    form.append(h("p", { class: "muted" }, `${edge.source} → ${edge.target}`));
    form.append(this.problems("edge_id", edge.id) || "");
    form.append(field("Label", this.bind(h("input", { type: "text" }), edge, "label", { kind: "edge" })));
    form.append(this.mappingField(edge));
    return form;
  }

  // data.mapping as rows: target key <- JSONPath on the upstream output.
  mappingField(edge) {
    const box = h("fieldset", { class: "mapping" }, h("legend", {}, "Mapping (replaces the merged input)"));
    const rows = h("div", { class: "rows" });
    const current = Object.entries((edge.data && edge.data.mapping) || {});
    const write = () => this.editor.fromInspector(() => {
      const mapping = {};
      for (const row of rows.children) {
        const [key, path] = row.querySelectorAll("input");
        if (key.value.trim()) mapping[key.value.trim()] = path.value;
      }
      this.model.updateEdgeData(edge.id, { mapping: Object.keys(mapping).length ? mapping : null }, { coalesce: `${edge.id}:mapping` });
    });
    const addRow = (key = "", path = "") => {
      const keyInput = h("input", { type: "text", value: key, placeholder: "target key", name: "mapping-key" });
      const pathInput = h("input", { type: "text", value: typeof path === "string" ? path : JSON.stringify(path), placeholder: "$.path.in.output", name: "mapping-path" });
      const remove = h("button", { type: "button", title: "Remove this row" }, "×");
      const row = h("div", { class: "pair" }, keyInput, h("span", {}, "←"), pathInput, remove);
      keyInput.addEventListener("input", write);
      pathInput.addEventListener("input", write);
      remove.addEventListener("click", () => { row.remove(); write(); });
      rows.append(row);
      return keyInput;
    };
    for (const [key, path] of current) addRow(key, path);
    const add = h("button", { type: "button", dataset: { action: "add-mapping" } }, "+ add a key");
    add.addEventListener("click", () => addRow().focus());
    box.append(rows, add);
    return box;
  }

  multi(nodes, edges) {
    const remove = h("button", { type: "button", class: "danger", dataset: { action: "delete" } }, "Delete all");
    remove.addEventListener("click", () => this.editor.deleteSelection());
    return h("div", { class: "inspector-form" }, h("h3", {}, `${nodes} nodes, ${edges} edges selected`), remove);
  }

  help() {
    return h("div", { class: "inspector-help" },
      h("h3", {}, "Nothing selected"),
      h("ul", {},
        h("li", {}, "Add a node from the palette (click, or drag it onto the canvas)."),
        h("li", {}, "Connect: drag from a node's round handle to another node."),
        h("li", {}, "Click a node or an edge to edit its settings; Shift-click adds to the selection."),
        h("li", {}, "Delete or Backspace removes the selection; Ctrl+Z / Ctrl+Shift+Z undo and redo."),
        h("li", {}, "Double-click a node that opens a child canvas to go there."),
        h("li", {}, "Scroll to zoom, drag the background to pan.")));
  }
}
