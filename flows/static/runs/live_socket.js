// A websocket that reconnects, shows its state in an element, and tells the page
// when it should fetch again (on open, after a gap). Refused sockets (44xx close
// codes) stop reconnecting and fall back to `onRefused`, e.g. polling.

export function liveSocket({ path, statusEl, onMessage, onOpen, onRefused, maxAgeMs = 0 }) {
  let socket = null;
  let closing = false;

  function show(state, text) {
    if (!statusEl) return;
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${path}`);
    socket.onopen = () => {
      show("live", "live");
      onOpen?.();
      // Some subscriptions are fixed at connect time (the inbox's workflows):
      // reconnect now and then to pick up new ones.
      if (maxAgeMs) setTimeout(() => socket.close(4000), maxAgeMs);
    };
    socket.onmessage = (event) => {
      // The canvas socket sends several messages as one `{"type": "batch", "messages":
      // [...]}` frame under load (README, Realtime); hand them over one by one.
      const frame = JSON.parse(event.data);
      for (const message of frame.type === "batch" ? frame.messages : [frame]) onMessage(message);
    };
    socket.onclose = (event) => {
      if (closing) return;
      if (event.code >= 4400 && event.code < 4500 && event.code !== 4408) {
        show("refused", "not live (refreshing)");
        onRefused?.(event.code);
        return;
      }
      show("reconnecting", "reconnecting…");
      setTimeout(connect, event.code === 4000 ? 0 : 2000);
    };
  }

  connect();
  return { close() { closing = true; socket?.close(); } };
}

// Call `fn` at most once per `ms`, after the last of a burst of calls.
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export async function fetchText(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.text();
}
