// Zoom (wheel, buttons) and pan (drag the background) of an SVG.
//
// Repainting an SVG of a few hundred nodes costs tens of milliseconds, too much for
// every frame of a gesture. So while the wheel turns or the background is dragged, the
// SVG element is only moved and scaled with a CSS transform (the compositor does that
// without repainting), and the real viewBox is set once the gesture pauses: one repaint
// per gesture instead of one per frame. Far out, labels too small to read are hidden
// (class "far"), which makes that repaint cheaper too.

const MIN_W = 40;
const MAX_W = 200000;
const DRAG_SLOP = 4;
const SETTLE_MS = 140;
// Screen pixels per canvas unit below which text is not drawn (13 px text under ~4 px).
const FAR_SCALE = 0.3;

export class PanZoom {
  // isBackground(target): may a drag starting on that element pan?
  constructor(svg, { isBackground = () => true, onChange = () => {} } = {}) {
    this.svg = svg;
    this.onChange = onChange;
    const [x, y, w, h] = (svg.getAttribute("viewBox") || "0 0 800 600").split(/[\s,]+/).map(Number);
    // `drawn`: the viewBox in the DOM; `view`: where the user is (they differ during a
    // gesture, by the CSS transform); `requested`: what was asked for, before it was
    // widened to the element's shape.
    this.drawn = { x, y, w, h };
    this.view = { ...this.drawn };
    this.requested = { ...this.drawn };
    this.frame = null;
    this.settle = null;
    this.dragged = false;
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    svg.style.transformOrigin = "0 0";
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

  size() {
    return { width: this.svg.clientWidth || 800, height: this.svg.clientHeight || 600 };
  }

  // Keep the view's aspect ratio equal to the element's, so zooming around a point is
  // exact (no letterboxing between the viewBox and the screen).
  fitted(view) {
    const { width, height } = this.size();
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

  // Go to `view` now (buttons, fit): one repaint.
  set(view) {
    this.requested = { ...view };
    this.view = this.fitted(view);
    this.schedule(0);
  }

  // Go to `view` during a gesture: transform now, repaint when the gesture pauses.
  glide(view) {
    this.requested = { ...view };
    this.view = this.fitted(view);
    this.schedule(SETTLE_MS);
  }

  schedule(delay) {
    clearTimeout(this.settle);
    if (delay) {
      this.transform();
      this.settle = setTimeout(() => this.commit(), delay);
    } else if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = null;
        this.commit();
      });
    }
  }

  // The CSS transform that shows `view` while the DOM still draws `drawn`.
  transform() {
    const { width } = this.size();
    const scale = this.drawn.w / this.view.w;
    const perUnit = width / this.view.w;
    const tx = (this.drawn.x - this.view.x) * perUnit;
    const ty = (this.drawn.y - this.view.y) * perUnit;
    this.svg.style.willChange = "transform";
    this.svg.style.transform = `translate(${tx}px, ${ty}px) scale(${scale})`;
  }

  commit() {
    const { x, y, w, h } = this.view;
    this.drawn = { ...this.view };
    this.svg.setAttribute("viewBox", `${x} ${y} ${w} ${h}`);
    this.svg.style.transform = "";
    this.svg.style.willChange = "";
    this.svg.classList.toggle("far", this.scale < FAR_SCALE);
    this.onChange(this.view);
  }

  // Show `rect` whole, with a margin around it, never magnified beyond 1:1.
  fit(rect, margin = 40) {
    const { width, height } = this.size();
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
    return this.size().width / this.view.w;
  }

  // The element's box on screen without the gesture's transform.
  screenRect() {
    const rect = this.svg.getBoundingClientRect();
    if (!this.svg.style.transform) return rect;
    const scale = this.drawn.w / this.view.w;
    const perUnit = this.size().width / this.view.w;
    return {
      left: rect.left - (this.drawn.x - this.view.x) * perUnit,
      top: rect.top - (this.drawn.y - this.view.y) * perUnit,
      width: rect.width / scale,
      height: rect.height / scale,
    };
  }

  // Canvas coordinates of a point on screen.
  toCanvas(clientX, clientY) {
    const rect = this.screenRect();
    const { x, y, w, h } = this.view;
    return { x: x + ((clientX - rect.left) / rect.width) * w, y: y + ((clientY - rect.top) / rect.height) * h };
  }

  zoomed(factor, clientX, clientY) {
    const { x, y, w, h } = this.view;
    const f = Math.min(MAX_W, Math.max(MIN_W, w * factor)) / w;
    const p = this.toCanvas(clientX, clientY);
    return { x: p.x - (p.x - x) * f, y: p.y - (p.y - y) * f, w: w * f, h: h * f };
  }

  zoomAt(factor, clientX, clientY) {
    this.set(this.zoomed(factor, clientX, clientY));
  }

  zoomCenter(factor) {
    const rect = this.screenRect();
    this.zoomAt(factor, rect.left + rect.width / 2, rect.top + rect.height / 2);
  }

  onWheel(event) {
    event.preventDefault();
    const unit = event.deltaMode === 1 ? 16 : 1;
    this.glide(this.zoomed(Math.exp(event.deltaY * unit * 0.0015), event.clientX, event.clientY));
  }

  startPan(event) {
    const start = { x: event.clientX, y: event.clientY, view: { ...this.view } };
    const perPixel = this.view.w / this.size().width;
    this.dragged = false;
    const move = (e) => {
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (!this.dragged && Math.hypot(dx, dy) < DRAG_SLOP) return;
      this.dragged = true;
      this.svg.classList.add("panning");
      this.glide({ ...start.view, x: start.view.x - dx * perPixel, y: start.view.y - dy * perPixel });
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      this.svg.classList.remove("panning");
      if (this.dragged) this.schedule(0);
      // The click that follows (if any) is swallowed above; then the flag resets.
      setTimeout(() => { this.dragged = false; }, 0);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }
}

// Zoom in / out / fit buttons just above a canvas picture.
export function zoomControls(panzoom, whole) {
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
  (panzoom.svg.closest(".canvas-viewport") || panzoom.svg).before(bar);
  return bar;
}
