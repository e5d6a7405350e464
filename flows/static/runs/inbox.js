// The task inbox, live: `/ws/tasks/` tells when a task may have appeared or gone,
// and the list is fetched again (at most every 300 ms, and every minute anyway so
// the "waiting" times stay fresh).
import { debounce, fetchText, liveSocket } from "./live_socket.js";

const root = document.getElementById("inbox");
const list = document.getElementById("task-list");

const reload = debounce(async () => {
  try {
    list.innerHTML = await fetchText(root.dataset.listUrl + location.search);
    root.dataset.refreshed = String(Date.now());
  } catch (error) {
    // Keep what is shown; the next message or the minute timer tries again.
  }
}, 300);

setInterval(reload, 60000);
liveSocket({
  path: "/ws/tasks/",
  statusEl: document.getElementById("inbox-live"),
  onMessage: (message) => { if (message.type === "run.updated") reload(); },
  onOpen: reload,
  onRefused: () => setInterval(reload, 5000),
  maxAgeMs: 5 * 60 * 1000,
});
