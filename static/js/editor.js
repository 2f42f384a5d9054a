// The widget editor: a dialog whose every change is previewed with the dashboard's range (POST …/preview),
// saved as a new widget or a change to one.
(function () {
  "use strict";
  const dialog = document.getElementById("editor");
  if (!dialog) return; // viewers get no editor
  const { api, page, showError } = window.Flux;
  const choices = page.choices;
  const form = document.getElementById("editor-form");
  const fields = form.elements;
  const errorBox = document.getElementById("editor-error");
  const previewBody = document.getElementById("preview");
  const dashboardId = page.dashboard.id;
  let editing = null; // the stored widget being changed, or null for a new one
  let metricTypes = {}; // metric name -> type
  let previewTimer = null;
  let openings = 0; // counts open() calls, so a slow names answer cannot apply to a later opening

  function options(select, values, labels = {}) {
    for (const value of values) select.add(new Option(labels[value] || value, value));
  }
  options(fields.type, choices.types);
  options(fields.interval, choices.intervals);
  options(fields.format, choices.formats);
  options(fields.style, choices.styles);
  options(fields.mode, choices.modes, { hour_of_week: "hour of week", time_value: "time by value" });

  async function loadNames() {
    const [catalogue, names] = await Promise.all([
      api("/api/v1/metrics"),
      api("/api/v1/events/count", { params: { period: "last_30d", group_by: "name", limit: 100 } }),
    ]);
    metricTypes = Object.fromEntries(catalogue.metrics.map((metric) => [metric.name, metric.type]));
    return { events: names.groups.map((group) => group.key).filter((key) => key && key !== "__other__"),
             metrics: Object.keys(metricTypes) };
  }
  let names = { events: [], metrics: [] };

  function refreshChoices(keepAggregation) {
    const source = fields.source.value;
    const list = document.getElementById("source-names");
    list.replaceChildren(...(source === "events" ? names.events : names.metrics).map((name) => new Option(name)));
    const metricType = metricTypes[fields.name.value];
    const allowed = source === "events" ? choices.aggregations.events
      : metricType ? choices.aggregations[metricType]
      : [...new Set(Object.entries(choices.aggregations).filter(([kind]) => kind !== "events").flatMap(([, list]) => list))];
    const current = keepAggregation || fields.aggregation.value;
    fields.aggregation.replaceChildren();
    options(fields.aggregation, allowed);
    const fallback = source === "events" ? choices.defaults.events : choices.defaults[metricType] || allowed[0];
    fields.aggregation.value = allowed.includes(current) ? current : fallback;
  }

  function pairs(text, separator) {
    return text.split(",").map((part) => part.trim()).filter(Boolean).map((part) => {
      const at = part.indexOf(separator);
      return at < 0 ? [part, ""] : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
    });
  }

  function config() {
    const display = {};
    if (fields.unit.value) display.unit = fields.unit.value;
    if (fields.format.value) display.format = fields.format.value;
    if (fields.decimals.value !== "") display.decimals = Number(fields.decimals.value);
    const type = fields.type.value;
    if (type === "graph") {
      display.style = fields.style.value;
      display.stacked = fields.stacked.checked;
      if (fields.compare.checked) display.compare = "previous";
    }
    if (type === "pie") display.donut = fields.donut.checked;
    if (type === "heatmap") display.mode = fields.mode.value;
    if (fields.colors.value.trim()) display.colors = fields.colors.value.split(",").map((color) => color.trim());
    if (fields.thresholds.value.trim()) {
      display.thresholds = pairs(fields.thresholds.value, ":").map(([value, color]) => ({ value: Number(value), color }));
    }
    const widget = {
      title: fields.title.value, type,
      query: { source: fields.source.value, name: fields.name.value || (fields.source.value === "events" ? "*" : ""),
               aggregation: fields.aggregation.value, filters: Object.fromEntries(pairs(fields.filters.value, "=")),
               group_by: fields.group_by.value || null, interval: fields.interval.value },
      display,
    };
    Object.assign(widget.query, combination());
    if (editing) widget.position = editing.position;
    return widget;
  }

  // Added queries (b, c, …) as event names; those stored with more detail (a metric, an aggregation) are kept
  // while their names are left as they were. A formula over a, b, … and its name.
  function combination() {
    const stored = (editing && editing.query.more) || [];
    const names = fields.more.value.split(",").map((name) => name.trim()).filter(Boolean);
    const more = names.join(",") === stored.map((query) => query.name).join(",")
      ? stored : names.map((name) => ({ source: "events", name, aggregation: "count" }));
    const found = {};
    if (more.length) found.more = more;
    if (fields.formula.value.trim()) found.formula = fields.formula.value.trim();
    if (found.formula && fields.formula_alias.value.trim()) found.formula_alias = fields.formula_alias.value.trim();
    if (fields.alias.value.trim()) found.alias = fields.alias.value.trim();
    return found;
  }

  async function preview() {
    const widget = config();
    try {
      const data = await api(`/api/v1/dashboards/${dashboardId}/preview`,
                             { method: "POST", body: widget, params: window.FluxDashboard.rangeParams() });
      previewBody.dataset.type = data.widget.type;
      window.FluxWidgets.render({ ...data.widget, id: "preview" }, data, previewBody);
      dialog.dataset.previewed = String(Date.now());
      showError(errorBox, null);
    } catch (error) {
      showError(errorBox, error);
    }
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 250);
  }

  async function open(widget) {
    editing = widget;
    form.reset();
    document.getElementById("editor-heading").textContent = widget ? "Edit widget" : "Add widget";
    const query = widget ? widget.query : { source: "events", name: "*", aggregation: "count", filters: {}, group_by: null, interval: "auto" };
    const display = widget ? widget.display : {};
    fields.title.value = widget ? widget.title : "";
    fields.type.value = widget ? widget.type : "number";
    fields.source.value = query.source;
    fields.name.value = query.name === "*" ? "" : query.name;
    fields.filters.value = Object.entries(query.filters || {}).map(([key, value]) => `${key}=${value}`).join(", ");
    fields.group_by.value = query.group_by || "";
    fields.alias.value = query.alias || "";
    fields.more.value = (query.more || []).map((item) => item.name).join(", ");
    fields.formula.value = query.formula || "";
    fields.formula_alias.value = query.formula_alias || "";
    fields.compare.checked = display.compare === "previous";
    fields.interval.value = query.interval || "auto";
    fields.unit.value = display.unit || "";
    fields.format.value = display.format || "";
    fields.decimals.value = display.decimals ?? "";
    fields.style.value = display.style || "line";
    fields.stacked.checked = Boolean(display.stacked);
    fields.donut.checked = Boolean(display.donut);
    fields.mode.value = display.mode || "hour_of_week";
    fields.colors.value = (display.colors || []).join(", ");
    fields.thresholds.value = (display.thresholds || []).map((item) => `${item.value}:${item.color}`).join(", ");
    showError(errorBox, null);
    refreshChoices(query.aggregation); // usable at once with what is known; the names come later
    const opening = ++openings;
    delete dialog.dataset.names;
    dialog.showModal();
    try {
      const loaded = await loadNames();
      if (opening !== openings) return; // reopened meanwhile: that opening applies its own names
      names = loaded;
    } catch (error) {
      showError(errorBox, error);
    }
    // No argument: keep what is chosen now, which the user may have changed while the names loaded.
    refreshChoices();
    dialog.dataset.names = "loaded";
    preview();
  }

  form.addEventListener("input", (event) => {
    if (["source", "name"].includes(event.target.name)) refreshChoices();
    schedulePreview();
  });
  form.addEventListener("change", (event) => {
    if (["source", "name"].includes(event.target.name)) refreshChoices();
    schedulePreview();
  });

  form.addEventListener("submit", async (event) => {
    if (event.submitter && event.submitter.value !== "save") return; // Cancel closes the dialog
    event.preventDefault();
    const widget = config();
    try {
      const saved = editing
        ? await api(`/api/v1/dashboards/${dashboardId}/widgets/${editing.id}`, { method: "PATCH", body: widget })
        : await api(`/api/v1/dashboards/${dashboardId}/widgets`, { method: "POST", body: widget });
      dialog.close();
      await window.FluxDashboard.showWidget(saved, !editing);
    } catch (error) {
      showError(errorBox, error);
    }
  });

  document.getElementById("add-widget").addEventListener("click", () => open(null));
  window.FluxEditor = { open };
})();
