// The server-drawn canvas picture (admin Flow page, live page): zoom, pan and fit, so
// a canvas of any size can be read. The geometry comes from entities/picture.py.

import { bounds } from "./layout.js";
import { PanZoom, zoomControls } from "./panzoom.js";

export function geometry() {
  const script = document.getElementById("canvas-geometry");
  return script ? JSON.parse(script.textContent) : null;
}

export function mountPicture(svg, geo) {
  const boxes = Object.values(geo.nodes);
  const paths = Object.values(geo.edges).map((e) => e.points);
  const whole = () => bounds(boxes, geo.canvas_type === "bmc" ? geo.blocks : [], paths);
  // Links (drill-down) and dots are not drag handles: a drag anywhere else pans.
  const panzoom = new PanZoom(svg, { isBackground: (target) => !target.closest("a, .entity-dot, .overlay button") });
  zoomControls(panzoom, whole);
  panzoom.fit(whole());
  svg.panzoom = panzoom;
  return panzoom;
}

const svg = document.getElementById("canvas-svg");
const geo = geometry();
if (svg && geo) mountPicture(svg, geo);
