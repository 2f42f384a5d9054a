// One dashboard: the grid (drag, resize, saved layout), the range/timezone/filter/refresh controls,
// and each widget's data drawn by FluxWidgets.
(function () {
  "use strict";
  const { api, page, showError } = window.Flux;
  const dashboard = page.dashboard;
  const errorBox = document.getElementById("dashboard-error");
  const controls = {
    range: document.getElementById("range"),
    customBox: document.getElementById("custom-range"),
    from: document.getElementById("custom-from"),
    to: document.getElementById("custom-to"),
    timezone: document.getElementById("timezone"),
    filters: document.getElementById("filters"),
    refresh: document.getElementById("refresh"),
  };
  const widgets = new Map(dashboard.widgets.map((widget) => [String(widget.id), widget]));
  let refreshTimer = null;
  let loading = 0;

  // Controls start from the dashboard's settings, or what the address says (so a view can be shared).
  const query = new URLSearchParams(window.location.search);
  const settings = dashboard.settings || {};
  const CALENDAR = ["today", "yesterday", "week", "last_week", "month", "last_month"];
  const savedRange = settings.range || "24h";
  controls.range.value = query.get("range") || (CALENDAR.includes(savedRange) ? `period:${savedRange}` : `-${savedRange}`);
  if (query.get("from")) {
    controls.range.value = "custom";
    controls.from.value = query.get("from");
    controls.to.value = query.get("to") || "";
  }
  controls.customBox.hidden = controls.range.value !== "custom";
  controls.timezone.value = query.get("timezone") || settings.timezone || page.project.timezone;
  controls.filters.value = query.get("filters") ??
    Object.entries(settings.filters || {}).map(([key, value]) => `${key}=${value}`).join(", ");
  controls.refresh.value = query.get("refresh") || settings.refresh || "off";

  const variables = window.FluxVariables.create({
    container: document.getElementById("variables"), dashboard, canEdit: page.can_edit,
    onChange() { remember(); load(); },
    onDefine: (next) => saveSettings({ variables: next }).then(() => { variables.redefine(next); remember(); load(); }),
  });

  // Dashboard settings changed from the page (variables, the saved view): the whole settings object is sent.
  async function saveSettings(changes) {
    try {
      const saved = await api(`/api/v1/dashboards/${dashboard.id}`, { method: "PATCH",
        body: { settings: { ...dashboard.settings, ...changes } } });
      dashboard.settings = saved.settings;
      showError(errorBox, null);
      return saved;
    } catch (error) {
      showError(errorBox, error);
      throw error;
    }
  }

  const grid = GridStack.init({
    column: 12, cellHeight: 80, margin: 6, float: false, animate: false,
    disableDrag: !page.can_edit, disableResize: !page.can_edit,
    draggable: { handle: ".widget-handle" },
  }, "#grid");

  function mountWidget(widget, place = true) {
    widgets.set(String(widget.id), widget);
    let item = document.querySelector(`.grid-stack-item[gs-id="${widget.id}"]`);
    if (!item) {
      const { x, y, w, h } = widget.position;
      item = grid.addWidget(place ? { id: String(widget.id), x, y, w, h } : { id: String(widget.id), w, h, autoPosition: true });
    }
    const content = item.querySelector(".grid-stack-item-content");
    content.innerHTML = `<div class="widget" data-widget-id="${widget.id}" data-type="${widget.type}">
      <div class="widget-title"><span class="widget-handle"></span>${page.can_edit ? `<span class="widget-actions">
        <button class="link" data-action="edit" type="button">Edit</button>
        <button class="link danger" data-action="remove" type="button">Remove</button></span>` : ""}</div>
      <div class="widget-body" aria-live="polite"></div></div>`;
    content.querySelector(".widget-handle").textContent = widget.title || `${widget.type} widget`;
    return content.querySelector(".widget-body");
  }

  function unmountWidget(id) {
    const item = document.querySelector(`.grid-stack-item[gs-id="${id}"]`);
    window.FluxWidgets.forget(Number(id));
    if (item) grid.removeWidget(item);
    widgets.delete(String(id));
  }

  for (const widget of dashboard.widgets) mountWidget(widget);
  // Narrow screens get one column that follows the 12-column layout row by row, left to right (as read on
  // a wide screen). Gridstack calls readingOrder with the nodes to place; floating while they are added
  // keeps them where they are put (packing would reorder them). Back to wide, its cached layout returns.
  function readingOrder(column, oldColumn, placed, nodes) {
    let y = 0;
    for (const node of [...nodes].sort((a, b) => a.y - b.y || a.x - b.x)) {
      Object.assign(node, { x: 0, y, w: 1 });
      y += node.h;
      placed.push(node);
    }
    nodes.length = 0;
  }
  const phone = window.matchMedia("(max-width: 700px)");
  function fitWidth() {
    if (phone.matches && grid.getColumn() !== 1) {
      grid.mode("float");
      grid.column(1, readingOrder);
    } else if (!phone.matches && grid.getColumn() !== 12) {
      grid.column(12, "moveScale");
      grid.mode("top");
    }
  }
  phone.addEventListener("change", fitWidth);
  fitWidth();

  document.getElementById("grid").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const id = button.closest("[data-widget-id]").dataset.widgetId;
    const widget = widgets.get(id);
    if (button.dataset.action === "edit") {
      window.FluxEditor.open(widget);
    } else if (button.dataset.action === "remove" && window.confirm(`Remove "${widget.title || widget.type}"?`)) {
      try {
        await api(`/api/v1/dashboards/${dashboard.id}/widgets/${id}`, { method: "DELETE" });
        unmountWidget(id);
      } catch (error) {
        showError(errorBox, error);
      }
    }
  });

  // Only the widgets this page moved (dragged, resized, or pushed aside by those) are saved: saving every
  // position as this page last knew it undid another editor's moves of other widgets.
  let saveTimer = null;
  const moved = new Set();
  grid.on("change", (event, items) => {
    if (!page.can_edit || grid.getColumn() !== 12) return; // a phone's one column is a view, not a layout
    for (const item of items || []) moved.add(String(item.id));
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveLayout, 300);
  });
  grid.on("resizestop", (event, element) => window.FluxWidgets.resize(Number(element.gridstackNode.id)));

  async function saveLayout() {
    const layout = grid.save(false).filter((node) => moved.has(String(node.id)))
      .map((node) => ({ id: Number(node.id), x: node.x, y: node.y, w: node.w, h: node.h }));
    moved.clear();
    if (!layout.length) return;
    try {
      await api(`/api/v1/dashboards/${dashboard.id}/layout`, { method: "PUT", body: layout });
      document.body.dataset.layoutSaved = String(Date.now());
      showError(errorBox, null);
    } catch (error) {
      showError(errorBox, error);
    }
  }

  function typedFilters() {
    const filters = {};
    for (const pair of controls.filters.value.split(",")) {
      const [key, ...rest] = pair.split("=");
      if (key.trim() && rest.length) filters[key.trim()] = rest.join("=").trim();
    }
    return filters;
  }

  // "Save view": what the page shows now becomes what the dashboard opens on, for everyone.
  async function saveView() {
    const value = controls.range.value;
    const status = document.getElementById("view-status");
    if (value === "custom") {
      showError(errorBox, new Error("A custom range cannot be a dashboard's default: choose a listed range."));
      return;
    }
    const timezone = controls.timezone.value.trim();
    await saveSettings({
      range: value.startsWith("period:") ? value.slice(7) : value.slice(1),
      timezone: !timezone || timezone === page.project.timezone ? null : timezone,
      refresh: controls.refresh.value, filters: typedFilters(), variables: variables.asSaved(),
    });
    status.textContent = "View saved.";
    setTimeout(() => { status.textContent = ""; }, 4000);
  }

  function rangeParams() {
    const value = controls.range.value;
    const params = { timezone: controls.timezone.value.trim() };
    if (value === "custom") {
      params.from = controls.from.value;
      params.to = controls.to.value || "now";
    } else if (value.startsWith("period:")) {
      params.period = value.slice(7);
    } else {
      params.from = value;
    }
    for (const [key, value] of Object.entries(typedFilters())) params[`tags[${key}]`] = value;
    return { ...params, ...variables.params() };
  }

  let shownRange = null;
  const appliedVariables = new Map(); // widget id -> the variables its last data was filtered by

  // A widget's data drawn, and marked when a chosen variable does not apply to it (its series lack the tag).
  function draw(id, data) {
    const widget = widgets.get(String(id));
    const element = document.querySelector(`[data-widget-id="${id}"]`);
    if (!widget || !element) return;
    window.FluxWidgets.render(widget, data, element.querySelector(".widget-body"));
    appliedVariables.set(String(id), (data.variables && data.variables.applied) || []);
    const ignored = (data.variables && data.variables.ignored) || [];
    let mark = element.querySelector(".not-applied");
    if (!ignored.length) { if (mark) mark.remove(); return; }
    if (!mark) {
      mark = document.createElement("span");
      mark.className = "badge not-applied";
      element.querySelector(".widget-handle").after(mark);
    }
    mark.textContent = `${ignored.join(", ")}: not applied`;
    mark.title = `This widget's data has no ${ignored.join(" or ")} tag, so the variable does not filter it.`;
  }

  async function load() {
    loading += 1;
    document.body.dataset.loading = "true";
    try {
      const data = await api(`/api/v1/dashboards/${dashboard.id}/data`, { params: rangeParams() });
      shownRange = { from: data.from, to: data.to };
      variables.update(data.variables || {});
      for (const [id, widgetData] of Object.entries(data.widgets)) draw(id, widgetData);
      document.body.dataset.loadedAt = String(Date.now());
      showError(errorBox, null);
    } catch (error) {
      showError(errorBox, error);
    } finally {
      loading -= 1;
      if (!loading) delete document.body.dataset.loading;
    }
  }

  // Live updates: the server pushes the data of widgets that new data touched (dashboards/consumers.py).
  let live = null;
  function connectLive() {
    live = window.Flux.connectSocket(`/ws/p/${page.project.slug}/dashboards/${dashboard.id}/`, {
      onOpen: sendView,
      onMessage(message) {
        if (message.type === "message" && window.FluxAnnotations) window.FluxAnnotations.onMessage(message.payload);
        if (message.type === "message" && message.payload.kind === "anomaly") {
          if (message.payload.event === "opened") toast(message.payload.anomaly);
          return;
        }
        if (message.type !== "widget") return;
        draw(String(message.id), message.data);
        document.body.dataset.pushedAt = String(Date.now());
      },
    });
  }
  // A new anomaly anywhere in the project: a toast linking to it, gone after a while.
  function toast(anomaly) {
    let box = document.querySelector(".toasts");
    if (!box) {
      box = document.createElement("div");
      box.className = "toasts";
      box.setAttribute("role", "status");
      document.body.append(box);
    }
    const item = document.createElement("a");
    item.className = "toast";
    item.href = `/p/${page.project.slug}/anomalies/${anomaly.id}/`;
    const percent = anomaly.deviation_percent === null ? "" : ` (${anomaly.deviation_percent > 0 ? "+" : ""}${anomaly.deviation_percent.toFixed(0)}%)`;
    item.textContent = `${anomaly.severity} ${anomaly.kind.replace("_", " ")} in ${anomaly.series.name}${percent}`;
    box.append(item);
    setTimeout(() => item.remove(), 30000);
  }

  function sendView() {
    if (live) live.send({ type: "view", params: rangeParams() });
  }

  function remember() {
    const params = new URLSearchParams();
    if (controls.range.value === "custom") {
      params.set("from", controls.from.value);
      if (controls.to.value) params.set("to", controls.to.value);
    } else {
      params.set("range", controls.range.value);
    }
    params.set("timezone", controls.timezone.value);
    if (controls.filters.value) params.set("filters", controls.filters.value);
    for (const [tag, values] of variables.chosen) params.set(`var[${tag}]`, values.join(","));
    params.set("refresh", controls.refresh.value);
    window.history.replaceState(null, "", `?${params}`);
    sendView();
  }

  function scheduleRefresh() {
    clearInterval(refreshTimer);
    const seconds = { "10s": 10, "1m": 60 }[controls.refresh.value];
    if (seconds) refreshTimer = setInterval(load, seconds * 1000);
  }

  controls.range.addEventListener("change", () => {
    controls.customBox.hidden = controls.range.value !== "custom";
    if (controls.range.value !== "custom") { remember(); load(); }
  });
  document.getElementById("apply-custom").addEventListener("click", () => { remember(); load(); });
  for (const input of [controls.timezone, controls.filters]) input.addEventListener("change", () => { remember(); load(); });
  controls.refresh.addEventListener("change", () => { remember(); scheduleRefresh(); });
  // TV mode: no controls, no editing, full screen where the browser allows. Leaving full screen (Esc, the
  // browser's own control) leaves TV mode too, and so does Esc when full screen was refused.
  function setTvMode(on) {
    document.body.classList.toggle("tv", on);
    grid.enableMove(!on && page.can_edit);
    grid.enableResize(!on && page.can_edit);
    setTimeout(() => widgets.forEach((widget) => window.FluxWidgets.resize(widget.id)), 100);
  }
  document.getElementById("tv").addEventListener("click", () => {
    setTvMode(true);
    if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
  });
  document.getElementById("exit-tv").addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    setTvMode(false);
  });
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement && document.body.classList.contains("tv")) setTvMode(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.body.classList.contains("tv") && !document.fullscreenElement) setTvMode(false);
  });
  window.addEventListener("resize", () => widgets.forEach((widget) => window.FluxWidgets.resize(widget.id)));

  scheduleRefresh();
  load();
  connectLive();
  // After the editor saved a widget: place it (new ones go where there is room) and draw its data.
  async function showWidget(widget, isNew) {
    const body = mountWidget(widget, !isNew);
    if (isNew) { // the grid chose its place
      moved.add(String(widget.id));
      await saveLayout();
    }
    try {
      const data = await api(`/api/v1/dashboards/${dashboard.id}/widgets/${widget.id}/data`, { params: rangeParams() });
      draw(String(widget.id), data);
    } catch (error) {
      showError(errorBox, error);
    }
  }

  // Zoom: a drag across a graph shows that stretch on every widget; Back returns to the view before.
  const zoomHistory = [];
  const backButton = document.getElementById("zoom-back");
  function localInput(ms, zone) {
    const format = new Intl.DateTimeFormat("en-CA", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    const part = Object.fromEntries(format.formatToParts(new Date(ms)).map((item) => [item.type, item.value]));
    return `${part.year}-${part.month}-${part.day}T${part.hour}:${part.minute}:${part.second}`;
  }
  window.FluxWidgets.hooks.zone = () => controls.timezone.value.trim() || page.project.timezone;
  window.FluxWidgets.hooks.zoom = (fromMs, toMs) => {
    zoomHistory.push({ range: controls.range.value, from: controls.from.value, to: controls.to.value });
    const zone = controls.timezone.value.trim() || page.project.timezone;
    controls.range.value = "custom";
    controls.customBox.hidden = false;
    controls.from.value = localInput(Math.floor(fromMs / 1000) * 1000, zone);
    controls.to.value = localInput(Math.ceil(toMs / 1000) * 1000, zone);
    backButton.hidden = false;
    remember();
    load();
  };
  backButton.addEventListener("click", () => {
    const previous = zoomHistory.pop();
    if (!previous) return;
    Object.assign(controls.range, { value: previous.range });
    controls.from.value = previous.from;
    controls.to.value = previous.to;
    controls.customBox.hidden = previous.range !== "custom";
    backButton.hidden = zoomHistory.length === 0;
    remember();
    load();
  });

  // Drill-down: a click on a graph's point or a bar opens the events explorer on that series (its name, its
  // group's tag value, the filters and one-value variables applied to it) over that bucket (a bar: the range).
  const BUCKET_MS = { "1m": 6e4, "5m": 3e5, "15m": 9e5, "30m": 18e5, "1h": 36e5, "3h": 108e5, "6h": 216e5, "12h": 432e5,
                      "1d": 864e5, "1w": 6048e5 };
  function bucketEnd(start, interval) {
    if (interval !== "1mo") return start + BUCKET_MS[interval];
    const end = new Date(start);
    end.setUTCMonth(end.getUTCMonth() + 1);
    return end.getTime();
  }
  window.FluxWidgets.hooks.drill = (widget, point) => {
    const query = widget.query;
    if (query.source === "metric") {
      window.location.href = `/p/${page.project.slug}/metrics/${encodeURIComponent(query.name)}/`;
      return;
    }
    const tags = { ...typedFilters(), ...query.filters };
    for (const tag of appliedVariables.get(String(widget.id)) || []) {
      const values = variables.chosen.get(tag) || [];
      if (values.length === 1) tags[tag] = values[0];
    }
    const target = { name: query.name === "*" ? "" : query.name, user_id: "" };
    if (point.key !== null && point.key !== undefined && query.group_by) {
      if (query.group_by === "name") target.name = point.key;
      else if (query.group_by === "user_id") target.user_id = point.key;
      else if (query.group_by.startsWith("tags.")) tags[query.group_by.slice(5)] = point.key;
    }
    const start = point.from ? new Date(point.from).getTime() : new Date(shownRange.from).getTime();
    const end = point.from ? bucketEnd(start, point.interval) : new Date(shownRange.to).getTime();
    const zone = page.project.timezone; // the explorer reads times in the project's zone
    const params = new URLSearchParams({ ...target, tags: Object.entries(tags).map(([key, value]) => `${key}=${value}`).join(", "),
      range: "custom", from: localInput(start, zone), to: localInput(end, zone) });
    for (const [key, value] of [...params]) if (!value) params.delete(key);
    window.location.href = `/p/${page.project.slug}/events/?${params}`;
  };

  const saveViewButton = document.getElementById("save-view");
  if (saveViewButton) saveViewButton.addEventListener("click", () => saveView().catch(() => {}));

  const addVariable = document.getElementById("add-variable");
  if (addVariable) {
    addVariable.addEventListener("submit", (event) => {
      event.preventDefault();
      const tag = addVariable.elements.tag.value.trim();
      if (!tag) return;
      const next = [...variables.asSaved(), { tag, multi: addVariable.elements.multi.checked, selected: [] }];
      addVariable.reset();
      saveSettings({ variables: next }).then(() => { variables.redefine(next); remember(); load(); }).catch(() => {});
    });
  }

  window.FluxDashboard = { load, grid, rangeParams, showWidget, dashboard, saveSettings, variables };
})();
