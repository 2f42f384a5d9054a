// Flux browser snippet: track events from any web page with a project's ingest key (write-only, so it may be
// public). No build step, no dependencies, no inline script needed:
//
//   <script src="https://flux.example.com/static/js/flux-track.js" defer
//           data-flux-key="flx_ingest_..." data-flux-url="https://flux.example.com"></script>
//   ... later, from your own scripts: flux.track("Signed Up", { plan: "pro" }, { user_id: "42" });
//
// Events are queued and sent in batches (every 5 s or 20 events) with fetch(keepalive); when the page is
// hidden or left, what is queued goes out with navigator.sendBeacon. Both send text/plain (no CORS preflight)
// with the key in the URL, which Flux accepts for ingest keys only. Every event carries an id, so a batch sent
// twice is stored once; a batch that fails to leave is sent again (retryLater). Calls made before the file
// loaded are kept: `window.flux = window.flux || [];
// flux.push(["track", "Page Viewed"])`.
(function () {
  "use strict";
  const script = document.currentScript;
  const config = {
    key: (script && script.dataset.fluxKey) || "",
    url: ((script && script.dataset.fluxUrl) || (script ? new URL(script.src).origin : "")).replace(/\/$/, ""),
    batchSize: 20,
    flushMs: 5000,
  };
  const queue = [];
  const retries = new Map(); // event id -> attempts made, for events waiting to be sent again
  let timer = null;
  let userId = null;

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
  }

  function sessionId() {
    try {
      let id = sessionStorage.getItem("flux.session_id");
      if (!id) sessionStorage.setItem("flux.session_id", (id = newId()));
      return id;
    } catch (error) {
      return undefined; // storage blocked: events still go, without a session
    }
  }

  function endpoint() {
    return `${config.url}/api/v1/events/batch?key=${encodeURIComponent(config.key)}`;
  }

  // A batch that fails (no network, Flux restarting, 429, 5xx) goes back to the queue and is sent again
  // after 2, 4, 8 then 16 s, with its ids: Flux stores each event once. The page being left sends it by beacon.
  const RETRIES = 4;
  function retryLater(events, attempt) {
    if (attempt >= RETRIES) return;
    events.forEach((event) => { retries.set(event.id, attempt + 1); });
    setTimeout(() => { queue.unshift(...events); flush(false); }, 2000 * 2 ** attempt);
  }

  function send(events, beacon) {
    if (!events.length || !config.key) return;
    const body = JSON.stringify({ events });
    if (beacon && navigator.sendBeacon && navigator.sendBeacon(endpoint(), body)) return;
    const attempt = Math.max(...events.map((event) => retries.get(event.id) || 0));
    events.forEach((event) => retries.delete(event.id));
    fetch(endpoint(), { method: "POST", body, keepalive: true, credentials: "omit",
      headers: { "Content-Type": "text/plain" } })
      .then((response) => { if (response.status === 429 || response.status >= 500) retryLater(events, attempt); })
      .catch(() => retryLater(events, attempt)); // a network error (or an origin Flux does not answer for)
  }

  function flush(beacon) {
    clearTimeout(timer);
    timer = null;
    // keepalive and beacon bodies are limited to 64 KB per page, so large queues go in several batches.
    while (queue.length) send(queue.splice(0, config.batchSize), beacon);
  }

  function track(name, properties, options) {
    const opts = options || {};
    const event = { id: newId(), name: String(name), timestamp: new Date().toISOString(),
      properties: Object.assign({ path: location.pathname }, properties || {}),
      session_id: sessionId() };
    const user = opts.user_id !== undefined ? opts.user_id : userId;
    if (user !== null && user !== undefined) event.user_id = String(user);
    if (opts.tags) event.tags = opts.tags;
    if (opts.value !== undefined) event.value = opts.value;
    queue.push(event);
    if (queue.length >= config.batchSize) flush(false);
    else if (!timer) timer = setTimeout(() => flush(false), config.flushMs);
  }

  const api = {
    track,
    identify(id) { userId = id === undefined ? null : id; },
    configure(options) { Object.assign(config, options || {}); },
    flush() { flush(false); },
    push(call) { api[call[0]].apply(null, call.slice(1)); },
  };
  const early = Array.isArray(window.flux) ? window.flux : [];
  window.flux = api;
  early.forEach((call) => api.push(call));

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush(true);
  });
  window.addEventListener("pagehide", () => flush(true));
})();
