// The live run view: colours the canvas picture's nodes by status, shows Splitter
// instance counts under their template node, loads the selected node's panel.
// Live updates come from the workflow's canvas socket (/ws/flows/{flow_id}/), where
// the engine broadcasts `run.updated`; messages of other runs are ignored.
import { debounce, fetchText, liveSocket } from "./live_socket.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const root = document.getElementById("run-view");
const runId = root.dataset.runId;
const panel = document.getElementById("run-panel");
const svg = root.querySelector("svg");
let selected = root.dataset.selected || "";
let settled = false;

function nodeGroup(id) {
  return svg.querySelector(`g.node[data-node-id="${CSS.escape(id)}"]`);
}

function setNodeStatus(id, status) {
  const group = nodeGroup(id);
  if (!group) return false;
  group.dataset.status = status;
  let label = group.querySelector("text.run-node-status");
  const rect = group.querySelector("rect");
  if (!label && rect) {
    label = document.createElementNS(SVG_NS, "text");
    label.setAttribute("class", "run-node-status");
    label.setAttribute("x", Number(rect.getAttribute("x")) + Number(rect.getAttribute("width")) / 2);
    label.setAttribute("y", Number(rect.getAttribute("y")) + Number(rect.getAttribute("height")) - 8);
    label.setAttribute("text-anchor", "middle");
    group.appendChild(label);
  }
  if (label) label.textContent = status.replaceAll("_", " ");
  return true;
}

function setInstances(id, text) {
  const group = nodeGroup(id);
  const rect = group?.querySelector("rect");
  if (!rect) return;
  let line = group.querySelector("text.run-instances");
  if (!line) {
    line = document.createElementNS(SVG_NS, "text");
    line.setAttribute("class", "run-instances");
    line.setAttribute("x", rect.getAttribute("x"));
    line.setAttribute("y", Number(rect.getAttribute("y")) + Number(rect.getAttribute("height")) + 14);
    group.appendChild(line);
  }
  line.textContent = text;
}

function setRunStatus(status, isSettled) {
  const badge = document.getElementById("run-status");
  badge.dataset.status = status;
  badge.textContent = status;
  settled = isSettled;
  const cancel = document.getElementById("cancel-form");
  if (cancel) cancel.hidden = status === "completed" || status === "cancelled";
}

function apply(state) {
  for (const [id, status] of Object.entries(state.nodes)) setNodeStatus(id, status);
  for (const [id, info] of Object.entries(state.instances)) setInstances(id, info.text);
  setRunStatus(state.status, state.settled);
  root.dataset.loaded = "true";
}

const refresh = debounce(async () => {
  const response = await fetch(root.dataset.stateUrl, { credentials: "same-origin" });
  if (response.ok) apply(await response.json());
}, 250);

// --- the node panel -------------------------------------------------------------------
async function select(id, { push = true } = {}) {
  selected = id;
  for (const group of svg.querySelectorAll("g.node.selected")) group.classList.remove("selected");
  const template = nodeGroup(id) ? id : id.replace(/_\d+$/, "");
  nodeGroup(template)?.classList.add("selected");
  if (push) history.replaceState(null, "", `?node=${encodeURIComponent(id)}`);
  try {
    panel.innerHTML = await fetchText(`${root.dataset.nodeUrl}?id=${encodeURIComponent(id)}`);
  } catch (error) {
    panel.textContent = `Could not load ${id}: ${error.message}`;
  }
}

const refreshPanel = debounce(() => {
  // Never replace a form someone is filling in.
  if (selected && !panel.contains(document.activeElement)) select(selected, { push: false });
}, 400);

function affectsPanel(nodeId) {
  if (!selected) return false;
  if (nodeId === null || nodeId === selected) return true;
  return nodeId.replace(/_\d+$/, "") === selected;
}

svg.addEventListener("click", (event) => {
  const group = event.target.closest("g.node");
  if (group) select(group.dataset.nodeId);
});

panel.addEventListener("click", async (event) => {
  const pick = event.target.closest("[data-select-node]");
  if (pick) {
    event.preventDefault();
    select(pick.dataset.selectNode);
    return;
  }
  const link = event.target.closest("a[data-instances-link]");
  if (link) {
    event.preventDefault();
    link.closest(".instances-body").innerHTML = await fetchText(link.href);
  }
});

panel.addEventListener("toggle", async (event) => {
  const details = event.target;
  if (!details.matches?.("details.instances") || !details.open || details.dataset.loaded) return;
  details.dataset.loaded = "true";
  details.querySelector(".instances-body").innerHTML = await fetchText(details.dataset.instancesUrl);
}, true);

// --- live updates -------------------------------------------------------------------------
function onMessage(message) {
  if (message.type !== "run.updated" || message.run_id !== runId) return;
  if (message.node_id === null) setRunStatus(message.status, ["completed", "failed", "cancelled"].includes(message.status));
  else setNodeStatus(message.node_id, message.status);  // an instance id matches no node
  refresh();
  if (affectsPanel(message.node_id)) refreshPanel();
}

function poll() {
  // Without a socket (say, an operator viewing another owner's run in the admin).
  refresh();
  if (selected) refreshPanel();
  if (!settled) setTimeout(poll, 3000);
}

apply(JSON.parse(document.getElementById("run-state").textContent));
if (selected) nodeGroup(selected.replace(/_\d+$/, ""))?.classList.add("selected") || nodeGroup(selected)?.classList.add("selected");
liveSocket({
  path: `/ws/flows/${root.dataset.flowId}/`,
  statusEl: document.getElementById("run-live"),
  onMessage,
  onOpen: () => { refresh(); },
  onRefused: () => poll(),
});
