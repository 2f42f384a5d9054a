// A shared dashboard (/s/<token>/): its widgets laid out as saved, their data over the dashboard's saved
// range from GET /api/v1/shared/data (the token in the X-Flux-Share header), then live pushes over
// ws/shared/<token>/. No login, no controls.
(function () {
  "use strict";
  const page = JSON.parse(document.getElementById("page-data").textContent);
  window.FluxWidgets.hooks.zone = () => (page.dashboard.settings || {}).timezone || page.project.timezone;
  const grid = document.getElementById("shared-grid");
  const errorBox = document.getElementById("dashboard-error");
  const widgets = new Map(page.widgets.map((widget) => [String(widget.id), widget]));

  for (const widget of page.widgets) {
    const { x, y, w, h } = widget.position;
    const box = document.createElement("div");
    box.className = "widget";
    box.dataset.widgetId = widget.id;
    box.dataset.type = widget.type;
    box.style.gridColumn = `${x + 1} / span ${w}`; // CSSOM, which the Content-Security-Policy allows
    box.style.gridRow = `${y + 1} / span ${h}`;
    const title = document.createElement("div");
    title.className = "widget-title";
    title.textContent = widget.title || `${widget.type} widget`;
    const body = document.createElement("div");
    body.className = "widget-body";
    body.setAttribute("aria-live", "polite");
    box.append(title, body);
    grid.append(box);
  }

  function draw(id, data) {
    const widget = widgets.get(String(id));
    const body = grid.querySelector(`[data-widget-id="${id}"] .widget-body`);
    if (widget && body) window.FluxWidgets.render(widget, data, body);
  }

  async function load() {
    try {
      const response = await fetch("/api/v1/shared/data", { headers: { "X-Flux-Share": page.token, Accept: "application/json" } });
      if (response.status === 429) { // another viewer's request is computing it: ask again as told
        setTimeout(load, 1000 * Number(response.headers.get("Retry-After") || 2));
        return;
      }
      const body = await response.json();
      if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
      for (const [id, data] of Object.entries(body.widgets)) draw(id, data);
      document.getElementById("shared-range").textContent = `${body.from.slice(0, 16).replace("T", " ")} – ${body.to.slice(0, 16).replace("T", " ")} UTC`;
      errorBox.hidden = true;
      document.body.dataset.loadedAt = String(Date.now());
    } catch (error) {
      errorBox.textContent = error.message;
      errorBox.hidden = false;
    }
  }

  window.Flux.connectSocket(`/ws/shared/${encodeURIComponent(page.token)}/`, {
    onOpen: load, // a snapshot after (re)connecting, then pushes
    onMessage(message) {
      if (message.type !== "widget") return;
      draw(message.id, message.data);
      document.body.dataset.pushedAt = String(Date.now());
    },
  });
  window.addEventListener("resize", () => { for (const id of widgets.keys()) window.FluxWidgets.resize(Number(id)); });
})();
