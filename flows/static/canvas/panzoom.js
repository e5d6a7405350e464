// Zoom (wheel, buttons) and pan (drag the background) of an SVG by its viewBox, so
// the cost does not depend on how many nodes are drawn: the browser re-composites one
// picture. Updates are coalesced to one per animation frame.

const MIN_W = 40;
const MAX_W = 200000;
const DRAG_SLOP = 4;

export class PanZoom {
  // isBackground(target): may a drag starting on that element pan?
  constructor(svg, { isBackground = () => true, onChange = () => {} } = {}) {
    this.svg = svg;
    this.onChange = onChange;
    const [x, y, w, h] = (svg.getAttribute("viewBox") || "0 0 800 600").split(/[\s,]+/).map(Number);
    this.view = { x, y, w, h };
    // What was asked for (fit, zoom, pan); `view` is that, widened to the element's shape.
    this.requested = { ...this.view };
    this.frame = null;
    this.dragged = false;
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    svg.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
    svg.addEventListener("pointerdown", (event) => {
      if (event.button === 0 && isBackground(event.target)) this.startPan(event);
    });
    // A click that ends a pan is not a click on what lies under the pointer.
    svg.addEventListener("click", (event) => {
      if (this.dragged) {
        event.preventDefault();
        event.stopPropagation();
        this.dragged = false;
      }
    }, true);
    new ResizeObserver(() => this.set(this.requested)).observe(svg);
  }

  // Keep the view's aspect ratio equal to the element's, so zooming around a point is
  // exact (no letterboxing between the viewBox and the screen).
  fitted(view) {
    const width = this.svg.clientWidth || 800;
    const height = this.svg.clientHeight || 600;
    const ratio = width / height;
    let { x, y, w, h } = view;
    if (w / h > ratio) {
      const nh = w / ratio;
      y -= (nh - h) / 2;
      h = nh;
    } else {
      const nw = h * ratio;
      x -= (nw - w) / 2;
      w = nw;
    }
    return { x, y, w, h };
  }

  set(view) {
    this.requested = { ...view };
    this.view = this.fitted(view);
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      const { x, y, w, h } = this.view;
      this.svg.setAttribute("viewBox", `${x} ${y} ${w} ${h}`);
      this.onChange(this.view);
    });
  }

  // Show `rect` whole, with a margin around it, never magnified beyond 1:1.
  fit(rect, margin = 40) {
    const width = this.svg.clientWidth || 800;
    const height = this.svg.clientHeight || 600;
    let { x, y, w, h } = { x: rect.x - margin, y: rect.y - margin, w: rect.w + 2 * margin, h: rect.h + 2 * margin };
    if (w < width && h < height) {
      x -= (width - w) / 2;
      y -= (height - h) / 2;
      w = width;
      h = height;
    }
    this.set({ x, y, w, h });
  }

  get scale() {
    return (this.svg.clientWidth || 800) / this.view.w;
  }

  // Canvas coordinates of a point on screen.
  toCanvas(clientX, clientY) {
    const rect = this.svg.getBoundingClientRect();
    const { x, y, w, h } = this.view;
    return { x: x + ((clientX - rect.left) / rect.width) * w, y: y + ((clientY - rect.top) / rect.height) * h };
  }

  zoomAt(factor, clientX, clientY) {
    const { x, y, w, h } = this.view;
    const next = Math.min(MAX_W, Math.max(MIN_W, w * factor));
    const f = next / w;
    const p = this.toCanvas(clientX, clientY);
    this.set({ x: p.x - (p.x - x) * f, y: p.y - (p.y - y) * f, w: w * f, h: h * f });
  }

  zoomCenter(factor) {
    const rect = this.svg.getBoundingClientRect();
    this.zoomAt(factor, rect.left + rect.width / 2, rect.top + rect.height / 2);
  }

  onWheel(event) {
    event.preventDefault();
    const unit = event.deltaMode === 1 ? 16 : 1;
    this.zoomAt(Math.exp(event.deltaY * unit * 0.0015), event.clientX, event.clientY);
  }

  startPan(event) {
    const start = { x: event.clientX, y: event.clientY, view: { ...this.view } };
    const perPixel = this.view.w / (this.svg.clientWidth || 800);
    this.dragged = false;
    const move = (e) => {
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (!this.dragged && Math.hypot(dx, dy) < DRAG_SLOP) return;
      this.dragged = true;
      this.svg.classList.add("panning");
      this.set({ ...start.view, x: start.view.x - dx * perPixel, y: start.view.y - dy * perPixel });
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      this.svg.classList.remove("panning");
      // The click that follows (if any) is swallowed above; then the flag resets.
      setTimeout(() => { this.dragged = false; }, 0);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }
}

// Zoom in / out / fit buttons above a canvas.
export function zoomControls(container, panzoom, whole) {
  const bar = document.createElement("div");
  bar.className = "canvas-zoom";
  const buttons = [
    ["−", "Zoom out", () => panzoom.zoomCenter(1.25)],
    ["+", "Zoom in", () => panzoom.zoomCenter(0.8)],
    ["Fit", "Fit to screen", () => panzoom.fit(whole())],
  ];
  for (const [text, title, action] of buttons) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.title = title;
    button.dataset.zoom = title.toLowerCase().replace(/ /g, "-");
    button.addEventListener("click", action);
    bar.append(button);
  }
  // Just above the drawing (after any breadcrumbs or title above it).
  panzoom.svg.before(bar);
  return bar;
}
