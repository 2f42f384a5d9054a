// The one websocket client of Flux's pages: connects, reconnects with backoff, hands messages over.
(function () {
  "use strict";

  // The navigation's badge of open anomalies, kept current by every live page's anomaly messages.
  function showOpenAnomalies(count) {
    const link = document.querySelector("nav a[href$='/anomalies/']");
    if (!link) return;
    let badge = document.getElementById("open-anomalies");
    if (!badge && count > 0) {
      badge = document.createElement("span");
      badge.id = "open-anomalies";
      badge.className = "badge severity-warning";
      link.append(" ", badge);
    }
    if (badge) {
      badge.textContent = String(count);
      badge.hidden = count === 0;
    }
  }

  // Says when a page's live updates stop: after a few seconds without its socket, and for good when the server
  // refused it (a link revoked, access lost). A wall screen showed frozen numbers as if they were live.
  function showLiveStatus(text) {
    let status = document.getElementById("live-status");
    if (!status && text) {
      status = document.createElement("div");
      status.id = "live-status";
      status.className = "live-status";
      status.setAttribute("role", "status");
      document.body.append(status);
    }
    if (status) {
      status.textContent = text;
      status.hidden = !text;
    }
  }

  // `path` like /ws/p/<slug>/live/; handlers: onOpen(socket), onMessage(message), onClose().
  function connectSocket(path, handlers) {
    let retryDelay = 1000;
    let pausedTimer = null;
    const state = { socket: null };
    function connect() {
      const scheme = window.location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${window.location.host}${path}`);
      state.socket = socket;
      socket.addEventListener("open", () => {
        retryDelay = 1000;
        clearTimeout(pausedTimer);
        showLiveStatus("");
        document.body.dataset.live = "true";
        document.body.dataset.connections = String(Number(document.body.dataset.connections || 0) + 1);
        if (handlers.onOpen) handlers.onOpen(socket);
      });
      socket.addEventListener("message", (event) => {
        const message = JSON.parse(event.data);
        if (message.payload && message.payload.open_count !== undefined) showOpenAnomalies(message.payload.open_count);
        handlers.onMessage(message);
      });
      socket.addEventListener("close", (event) => {
        delete document.body.dataset.live;
        if (handlers.onClose) handlers.onClose();
        clearTimeout(pausedTimer);
        if (event.code === 4404) { // not ours (any more): no point retrying
          showLiveStatus("Live updates ended: this link was revoked or has expired, or your access changed. Reload to check.");
          return;
        }
        pausedTimer = setTimeout(() => showLiveStatus("Live updates paused: reconnecting…"), 3000);
        setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30000); // back off while the server is away
      });
    }
    connect();
    return {
      send(message) {
        if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
      },
      get open() { return Boolean(state.socket && state.socket.readyState === WebSocket.OPEN); },
    };
  }

  window.Flux = Object.assign(window.Flux || {}, { connectSocket });
})();
