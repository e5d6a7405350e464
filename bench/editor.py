"""How smooth the canvas editor stays on a large workflow (issue 12: 300 nodes).

    DATABASE_URL=postgres://.../stitch_canvas_bench .venv/bin/python bench/editor.py [--nodes 300]

Makes (in its own database, migrated first) a workflow of `--nodes` echo Workers on a
grid with a chain of edges, serves it with uvicorn, opens the admin's Flow page in
headless Chromium (Debian's /usr/bin/chromium) and measures, inside the page:
- load: navigation start to the editor being ready (model, first drawing, fit);
- frame intervals while the wheel zooms (one wheel event per frame, 60 frames), while
  the background is dragged (pan), and while a node is dragged (its edges follow);
- the time of one model change that redraws everything (adding a node), median of 20.
Frame intervals come from a requestAnimationFrame loop; 16.7 ms is 60 frames/s.
Bounded: a few hundred input events; the flow is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stitch.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stitch_canvas_bench")
CHROMIUM = "/usr/bin/chromium"
FRAMES = 60


def setup_flow(nodes: int) -> tuple[Any, str]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("ensure_database")
    call_command("migrate", verbosity=0)
    from django.test import Client

    from flows import services
    from stitch.models import User

    user, _ = User.objects.get_or_create(
        username="bench-editor", defaults={"is_staff": True, "is_superuser": True}
    )
    columns = 20
    graph: dict[str, list[dict[str, Any]]] = {"nodes": [], "edges": []}
    for index in range(nodes):
        row, column = divmod(index, columns)
        graph["nodes"].append(
            {
                "id": f"n{index}",
                "type": "Worker",
                "position": {"x": column * 240, "y": row * 140},
                "data": {"label": f"Step {index + 1}", "workerType": "echo"},
            }
        )
        if index:
            graph["edges"].append(
                {"id": f"e{index}", "source": f"n{index - 1}", "target": f"n{index}"}
            )
    flow = services.flow_create(owner=user, name="bench: large workflow", graph=graph)
    client = Client()
    client.force_login(user)
    return flow, client.cookies["sessionid"].value


FRAME_PROBE = """() => {
  window.__frames = [];
  const probe = (window.__probe = (window.__probe || 0) + 1);
  const tick = (t) => {
    if (probe !== window.__probe) return;
    window.__frames.push(t);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""
FRAME_STOP = """() => {
  window.__probe += 1;
  const f = window.__frames;
  return f.slice(1).map((t, i) => t - f[i]);
}"""


def frames(page: Any, act: Any) -> list[float]:
    page.evaluate(FRAME_PROBE)
    page.wait_for_timeout(100)
    act()
    page.wait_for_timeout(100)
    return page.evaluate(FRAME_STOP)


def summary(name: str, intervals: list[float]) -> str:
    ordered = sorted(intervals)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if ordered else float("nan")
    slow = sum(1 for i in intervals if i > 1000 / 60 * 1.5)
    return (
        f"{name:<26} frames {len(intervals):>4}  median {statistics.median(intervals):5.1f} ms"
        f"  p95 {p95:5.1f} ms  max {max(intervals):6.1f} ms  over 25 ms: {slow}"
    )


def measure(base: str, flow: Any, cookie: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
        )
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
        page = context.new_page()
        started = time.perf_counter()
        page.goto(f"{base}/admin/flows/flow/{flow.pk}/change/")
        page.wait_for_selector("[data-canvas-editor][data-ready=true]")
        print(f"{'load to editor ready':<26} {(time.perf_counter() - started) * 1000:.0f} ms")
        page.locator("[data-canvas-editor]").evaluate("el => el.scrollIntoView()")
        svg = page.locator("svg.editor-canvas").bounding_box()
        assert svg is not None
        cx, cy = svg["x"] + svg["width"] / 2, svg["y"] + svg["height"] / 2

        def wheel() -> None:
            page.mouse.move(cx, cy)
            for step in range(FRAMES):
                page.mouse.wheel(0, -40 if step < FRAMES // 2 else 40)
                page.wait_for_timeout(16)

        def pan() -> None:
            page.mouse.move(svg["x"] + 5, svg["y"] + 5)
            page.mouse.down()
            for step in range(FRAMES):
                page.mouse.move(svg["x"] + 5 + step * 4, svg["y"] + 5 + step * 2)
                page.wait_for_timeout(16)
            page.mouse.up()

        def drag_node() -> None:
            page.locator(".editor-toolbar [data-action=fit]").click()
            page.wait_for_timeout(50)
            box = page.locator('.editor-canvas .node[data-node-id="n150"] rect').bounding_box()
            assert box is not None
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            for step in range(FRAMES):
                page.mouse.move(x + step * 3, y + step * 2)
                page.wait_for_timeout(16)
            page.mouse.up()

        for name, act in (
            ("wheel zoom", wheel),
            ("pan (drag background)", pan),
            ("drag a node", drag_node),
        ):
            print(summary(name, frames(page, act)))
        redraws = page.evaluate(
            """() => {
              const editor = document.querySelector('[data-canvas-editor]').editor;
              const times = [];
              for (let i = 0; i < 20; i++) {
                const t = performance.now();
                editor.model.addNode({type: 'Worker', position: {x: i * 10, y: -200}});
                times.push(performance.now() - t);
              }
              return times;
            }"""
        )
        print(f"{'add a node (full redraw)':<26} median {statistics.median(redraws):.1f} ms")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=300)
    args = parser.parse_args()
    flow, cookie = setup_flow(args.nodes)
    from tests.entities.live_servers import free_port, uvicorn_command, wait_until_serving

    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    server = subprocess.Popen(uvicorn_command(port), cwd=ROOT, env=env)
    try:
        wait_until_serving(port)
        print(f"{args.nodes} nodes, {args.nodes - 1} edges")
        measure(f"http://127.0.0.1:{port}", flow, cookie)
    finally:
        server.terminate()
        server.wait(timeout=10)
        flow.delete()


if __name__ == "__main__":
    main()
