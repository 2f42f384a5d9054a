// The setup page's "Send a test event": POST it like an SDK would, then read it back as it arrived.
(function () {
  "use strict";
  const button = document.getElementById("send-test");
  if (!button) return;
  const { api } = window.Flux;
  const status = document.getElementById("test-status");
  const shown = document.getElementById("test-event");

  button.addEventListener("click", async () => {
    const marker = `test-${Date.now()}`;
    status.textContent = "Sending…";
    try {
      const result = await api("/api/v1/events", { method: "POST",
        body: { name: "flux.test_event", id: marker, properties: { sent_from: "setup page" } } });
      status.textContent = `Accepted (${result.accepted}). Reading it back…`;
      const found = await api("/api/v1/events", { params: { name: "flux.test_event", from: "-5m", limit: 1 } });
      const event = found.events[0];
      status.textContent = event ? `Arrived at ${event.received_at}.` : "Sent, but not found yet.";
      shown.textContent = JSON.stringify(event, null, 2);
      shown.hidden = !event;
    } catch (error) {
      status.textContent = error.message;
    }
  });
})();
