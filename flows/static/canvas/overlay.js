// Analytics drawn on a canvas picture (the live page and the admin's Flow page), from
// the endpoints of SPEC 6: per node the entities there now, arrivals, median and p90
// time, a small arrivals-over-time chart; per edge the conversion and a band under it as wide as
// its traffic; a time window; a funnel of nodes picked in order.

const NS = "http://www.w3.org/2000/svg";
const HOUR = 3600e3;
export const WINDOWS = {
  "24h": { label: "24 h", ms: 24 * HOUR, bucket: "hour" },
  "7d": { label: "7 d", ms: 7 * 24 * HOUR, bucket: "day" },
  "30d": { label: "30 d", ms: 30 * 24 * HOUR, bucket: "day" },
  all: { label: "all", ms: null, bucket: "week" },
};
const FUNNEL_WITHIN = { "1d": "1 day", "7d": "7 days", "30d": "30 days" };
const REFRESH_AFTER_MESSAGE_MS = 1500;

function el(name, attrs = {}, parent = null, text = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  if (parent) parent.append(node);
  return node;
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

// 42 s, 4.5 min, 3.2 h, 2.1 d: the unit that keeps the number short.
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${(seconds / 60).toFixed(seconds < 600 ? 1 : 0)} min`;
  if (seconds < 36 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

export function percent(ratio) {
  return ratio === null || ratio === undefined ? "–" : `${Math.round(ratio * 100)}%`;
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Object.entries(body).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join("; ");
    throw new Error(detail || `HTTP ${response.status}`);
  }
  return body;
}

// The conversion goes on the other side of the edge from its label (entities/routes.py's
// label_place, 12 px off the line): below a level segment, right of an upright one,
// clear of the dots travelling on it.
function conversionAt(at) {
  if (at.rotate) return { x: at.x + 32, y: at.y, "text-anchor": "middle", transform: `rotate(-90 ${at.x + 32} ${at.y})` };
  if (at.anchor === "start") return { x: at.x, y: at.y + 14, "text-anchor": "start" };
  return { x: at.x, y: at.y + 32, "text-anchor": "middle" };
}

export class AnalyticsOverlay {
  constructor({ svg, geo, panel, api }) {
    this.svg = svg;
    this.geo = geo;
    this.panel = panel;
    this.api = api;
    this.window = "7d";
    this.steps = [];
    this.within = "7d";
    this.picking = false;
    this.shown = true;
    this.seq = 0;
    this.layer = svg.querySelector("#canvas-overlay") || el("g", { class: "overlay" }, svg);
    this.buildPanel();
    this.wireCanvas();
    document.addEventListener("canvas:message", () => this.refreshSoon());
  }

  since() {
    const { ms } = WINDOWS[this.window];
    return ms === null ? null : new Date(Date.now() - ms).toISOString();
  }

  query(extra = {}) {
    const params = new URLSearchParams(extra);
    const since = this.since();
    if (since) params.set("since", since);
    return params.toString();
  }

  // --- the panel: window, toggle, funnel -----------------------------------------

  buildPanel() {
    const windows = h("div", { class: "analytics-windows", role: "group", "aria-label": "Time window" });
    for (const [key, { label }] of Object.entries(WINDOWS)) {
      const button = h("button", { type: "button", dataset: { window: key } }, label);
      button.addEventListener("click", () => this.setWindow(key));
      windows.append(button);
    }
    const toggle = h("input", { type: "checkbox", checked: "" });
    toggle.addEventListener("change", () => this.show(toggle.checked));
    this.status = h("span", { class: "analytics-status" });
    this.stepList = h("ol", { class: "funnel-steps" });
    this.addStep = h("select", { "aria-label": "Add a funnel step" });
    this.addStep.addEventListener("change", () => {
      if (this.addStep.value) this.pushStep(this.addStep.value);
      this.addStep.value = "";
    });
    const pick = h("button", { type: "button", dataset: { action: "pick" } }, "Pick on the canvas");
    pick.addEventListener("click", () => {
      this.picking = !this.picking;
      pick.classList.toggle("active", this.picking);
      this.svg.classList.toggle("picking", this.picking);
    });
    const within = h("select", { "aria-label": "Each step within" });
    for (const [key, label] of Object.entries(FUNNEL_WITHIN)) within.append(h("option", { value: key }, label));
    within.value = this.within;
    within.addEventListener("change", () => { this.within = within.value; this.drawFunnel(); });
    const clear = h("button", { type: "button" }, "Clear");
    clear.addEventListener("click", () => { this.steps = []; this.drawFunnel(); });
    this.bars = h("div", { class: "funnel-bars" });
    this.panel.replaceChildren(
      h("div", { class: "analytics-head" }, h("strong", {}, "Analytics"), windows, h("label", {}, toggle, " on the canvas"), this.status),
      h("div", { class: "analytics-funnel" },
        h("strong", {}, "Funnel"),
        h("div", { class: "funnel-controls" }, this.addStep, pick, h("label", {}, "each step within ", within), clear),
        this.stepList, this.bars),
    );
    this.fillStepChoices();
    this.markWindow();
  }

  fillStepChoices() {
    this.addStep.replaceChildren(h("option", { value: "" }, "+ add a step…"));
    for (const box of Object.values(this.geo.nodes)) this.addStep.append(h("option", { value: box.id }, box.label));
  }

  markWindow() {
    for (const button of this.panel.querySelectorAll("[data-window]")) {
      button.classList.toggle("active", button.dataset.window === this.window);
      button.setAttribute("aria-pressed", String(button.dataset.window === this.window));
    }
  }

  setWindow(key) {
    this.window = key;
    this.markWindow();
    this.refresh();
    this.drawFunnel();
  }

  show(on) {
    this.shown = on;
    this.layer.style.display = on ? "" : "none";
    this.drawEdges(on ? this.analytics : null);
  }

  // In "pick" mode a click on a node adds it to the funnel instead of opening it.
  wireCanvas() {
    this.svg.addEventListener("click", (event) => {
      if (!this.picking) return;
      const node = event.target.closest(".node");
      if (!node) return;
      event.preventDefault();
      event.stopPropagation();
      this.pushStep(node.dataset.nodeId);
    }, true);
  }

  pushStep(id) {
    this.steps.push(id);
    this.drawFunnel();
  }

  // --- numbers on the canvas -----------------------------------------------------

  refreshSoon() {
    clearTimeout(this.soon);
    this.soon = setTimeout(() => this.refresh(), REFRESH_AFTER_MESSAGE_MS);
  }

  async refresh() {
    const seq = ++this.seq;
    this.status.textContent = "loading…";
    this.panel.dataset.state = "loading";
    try {
      const [analytics, series] = await Promise.all([
        getJSON(`${this.api}?${this.query()}`),
        getJSON(`${this.api}series/?${this.query({ bucket: WINDOWS[this.window].bucket })}`),
      ]);
      if (seq !== this.seq) return;  // a newer window was chosen meanwhile
      this.analytics = analytics;
      this.series = series;
      this.draw();
      this.status.textContent = "";
      this.panel.dataset.state = "ready";
      this.panel.dataset.window = this.window;
    } catch (error) {
      if (seq !== this.seq) return;
      this.status.textContent = `analytics unavailable: ${error.message}`;
      this.panel.dataset.state = "error";
    }
  }

  draw() {
    this.layer.replaceChildren();
    for (const stat of this.analytics.nodes) {
      const box = this.geo.nodes[stat.id];
      // Nodes nothing happened at stay clean: no zeros all over the picture.
      const idle = !stat.current && !stat.arrivals && !stat.completions;
      if (box && !idle) this.drawNode(box, stat, this.series.buckets.map((b) => b.nodes[stat.id] || 0));
    }
    this.drawEdges(this.shown ? this.analytics : null);
  }

  drawNode(box, stat, counts) {
    const g = el("g", { class: "node-stats", "data-node-id": stat.id }, this.layer);
    const pill = el("g", { class: "stats-pill", transform: `translate(${box.x + box.w} ${box.y})` }, g);
    const text = String(stat.current);
    el("rect", { x: -10 - text.length * 3.5, y: -10, width: 20 + text.length * 7, height: 20, rx: 10 }, pill);
    el("text", { "text-anchor": "middle", dy: 4, class: "current" }, pill, text);
    el("title", {}, pill, `${stat.current} here now`);
    const line = `${stat.arrivals} in · median ${duration(stat.median_seconds)} · p90 ${duration(stat.p90_seconds)}`;
    // A BMC block has a line for it under its title; other nodes get it underneath.
    const block = box.is_block;
    el("text", {
      class: "stats",
      x: block ? box.x + 12 : box.x + box.w / 2,
      y: block ? box.y + 45 : box.y + box.h + 14,
      "text-anchor": block ? "start" : "middle",
      "data-arrivals": stat.arrivals,
    }, g, line);
    this.spark(g, box, counts, block);
  }

  // Arrivals per bucket as bars: in a block's title bar, else in the box's lower right.
  spark(g, box, counts, block) {
    const width = 56;
    const height = 16;
    const x = box.x + box.w - width - 8;
    const y = block ? box.y + 33 : box.y + box.h - height - 6;
    const spark = el("g", { class: "spark", transform: `translate(${x} ${y})`, "data-buckets": counts.length }, g);
    el("rect", { class: "spark-frame", width, height, fill: "none" }, spark);
    const top = Math.max(1, ...counts);
    const step = counts.length ? width / counts.length : width;
    counts.forEach((count, i) => {
      if (!count) return;
      const bar = (count / top) * height;
      el("rect", { class: "bar", x: i * step, y: height - bar, width: Math.max(1, step - 0.5), height: bar }, spark);
    });
    const total = counts.reduce((a, b) => a + b, 0);
    el("title", {}, spark, `${total} arrivals in the window, by ${WINDOWS[this.window].bucket}`);
  }

  drawEdges(analytics) {
    const stats = new Map((analytics ? analytics.edges : []).map((e) => [e.id, e]));
    const most = Math.max(1, ...[...stats.values()].map((e) => e.starts));
    for (const group of this.svg.querySelectorAll(".edge[data-edge-id]")) {
      const line = group.querySelector("path:not(.traffic)");
      const stat = stats.get(group.dataset.edgeId);
      // The traffic is a translucent band under the edge, not the edge's own stroke,
      // so the arrowhead stays visible however busy the edge is.
      let band = group.querySelector("path.traffic");
      if (stat && !band) band = group.insertBefore(el("path", { class: "traffic" }), line);
      if (!stat && band) band.remove();
      if (stat) {
        band.setAttribute("d", line.getAttribute("d"));
        band.style.strokeWidth = String(2 + (8 * stat.starts) / most);
      }
      group.dataset.conversion = stat && stat.conversion !== null ? String(stat.conversion) : "";
      const geo = this.geo.edges[group.dataset.edgeId];
      if (!stat || !geo) continue;
      const g = el("g", { class: "edge-stats" }, this.layer);
      el("text", { class: "conversion", ...conversionAt(geo.label_at), "data-edge-id": stat.id }, g, percent(stat.conversion));
      el("title", {}, g, `${stat.arrivals} of ${stat.starts} arrived · ${stat.travelling} on the way now`);
    }
  }

  // --- funnel --------------------------------------------------------------------

  async drawFunnel() {
    this.stepList.replaceChildren(...this.steps.map((id, i) => {
      const remove = h("button", { type: "button", title: "Remove this step" }, "×");
      remove.addEventListener("click", () => { this.steps.splice(i, 1); this.drawFunnel(); });
      return h("li", { dataset: { nodeId: id } }, (this.geo.nodes[id] || { label: id }).label, " ", remove);
    }));
    for (const node of this.svg.querySelectorAll(".node")) {
      node.classList.toggle("funnel-step", this.steps.includes(node.dataset.nodeId));
    }
    if (!this.steps.length) {
      this.bars.replaceChildren(h("p", { class: "muted" }, "Pick nodes in order to see how many entities go through them."));
      return;
    }
    const seq = (this.funnelSeq = (this.funnelSeq || 0) + 1);
    let result;
    try {
      result = await getJSON(`${this.api}funnel/?${this.query({ steps: this.steps.join(","), within: this.within })}`);
    } catch (error) {
      if (seq === this.funnelSeq) this.bars.replaceChildren(h("p", { class: "error" }, `Funnel unavailable: ${error.message}`));
      return;
    }
    if (seq !== this.funnelSeq) return;
    const first = Math.max(1, result.steps[0] ? result.steps[0].entered : 1);
    this.bars.replaceChildren(...result.steps.map((step, i) => {
      const bar = h("div", { class: "bar" });
      bar.style.width = `${Math.max(2, (100 * step.entered) / first)}%`;
      const label = (this.geo.nodes[step.node_id] || { label: step.node_id }).label;
      const detail = i === 0 ? "" : ` · ${percent(step.conversion_from_previous)} of previous · ${percent(step.conversion_from_first)} of first · median ${duration(step.median_seconds_from_previous)} from previous`;
      return h("div", { class: "funnel-row", dataset: { nodeId: step.node_id, entered: step.entered } },
        h("div", { class: "funnel-label" }, h("strong", {}, String(step.entered)), ` ${label}${detail}`), bar);
    }));
  }
}

export function mountOverlay() {
  const panel = document.querySelector("[data-analytics-panel]");
  const svg = document.getElementById("canvas-svg");
  const script = document.getElementById("canvas-geometry");
  if (!panel || !svg || !script) return null;
  const overlay = new AnalyticsOverlay({ svg, geo: JSON.parse(script.textContent), panel, api: panel.dataset.api });
  panel.overlay = overlay;
  overlay.refresh();
  return overlay;
}

mountOverlay();
