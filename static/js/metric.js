// One metric: its chart (GET /api/v1/metrics/{name}/query) with aggregation, group-by and tag filters,
// and its summary (GET /api/v1/metrics/{name}); both reload when new points of it arrive.
(function () {
  "use strict";
  const { api, page, showError, format, connectSocket } = window.Flux;
  const metric = page.metric;
  const form = document.getElementById("controls");
  const errorBox = document.getElementById("metric-error");
  const path = `/api/v1/metrics/${encodeURIComponent(metric.name)}`;
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  const chart = echarts.init(document.getElementById("metric-chart"), dark ? "dark" : null);
  const SUMMARY_ORDER = ["points", "series", "last", "avg", "min", "max", "sum", "rate", "p50", "p95", "p99", "unique"];

  for (const aggregation of metric.aggregations) form.elements.aggregation.add(new Option(aggregation, aggregation));
  form.elements.aggregation.value = metric.default_aggregation;

  function tagParams() {
    const params = {};
    for (const pair of form.elements.tags.value.split(",").map((part) => part.trim()).filter(Boolean)) {
      const at = pair.indexOf("=");
      if (at < 1) throw new Error(`Tag filter "${pair}" should look like key=value`);
      params[`tags[${pair.slice(0, at).trim()}]`] = pair.slice(at + 1).trim();
    }
    return params;
  }

  function seriesName(item) {
    const pairs = Object.entries(item.tags);
    const shown = (value) => (value === null || value === undefined ? "(none)" : format.tagValue(value));
    return pairs.length ? pairs.map(([key, value]) => `${key}=${shown(value)}`).join(", ") : metric.name;
  }

  async function load() {
    try {
      const common = { period: form.elements.range.value, ...tagParams() };
      const [query, summary] = await Promise.all([
        api(`${path}/query`, { params: { ...common, interval: "auto", aggregation: form.elements.aggregation.value,
                                         group_by: form.elements.group_by.value, limit: 10 } }),
        api(path, { params: common }),
      ]);
      const hasData = query.series.some((item) => item.points.some(([, value]) => value !== null));
      document.getElementById("no-data").hidden = hasData;
      chart.setOption({ backgroundColor: "transparent", animation: false, tooltip: { trigger: "axis" },
        legend: query.series.length > 1 ? { type: "scroll", top: 0 } : undefined,
        grid: { left: 56, right: 16, top: 32, bottom: 28 }, xAxis: { type: "time" }, yAxis: { type: "value" },
        series: query.series.map((item) => ({ name: seriesName(item), type: "line", showSymbol: false, connectNulls: false, data: item.points })) }, true);
      if (window.FluxAnnotations) window.FluxAnnotations.decorate(chart); // static/js/annotations.js
      const stats = document.getElementById("summary");
      stats.replaceChildren();
      for (const key of SUMMARY_ORDER) {
        if (!(key in summary)) continue;
        const box = document.createElement("div");
        const term = document.createElement("dt");
        term.textContent = key === "rate" ? "rate /s" : key;
        const value = document.createElement("dd");
        value.textContent = format.number(summary[key]);
        box.append(term, value);
        stats.append(box);
      }
      showError(errorBox, null);
      document.body.dataset.loadedAt = String(Date.now());
    } catch (error) {
      showError(errorBox, error);
    }
  }

  function remember() {
    const params = new URLSearchParams();
    for (const field of ["aggregation", "group_by", "tags", "range"]) if (form.elements[field].value) params.set(field, form.elements[field].value);
    window.history.replaceState(null, "", `?${params}`);
  }

  api("/api/v1/metrics").then((body) => {
    const entry = body.metrics.find((item) => item.name === metric.name);
    for (const key of Object.keys((entry && entry.tags) || {})) form.elements.group_by.add(new Option(key, `tags.${key}`));
    const remembered = new URLSearchParams(window.location.search);
    for (const field of ["aggregation", "group_by", "tags", "range"]) if (remembered.has(field)) form.elements[field].value = remembered.get(field);
    load();
  }).catch((error) => showError(errorBox, error));

  form.addEventListener("submit", (event) => { event.preventDefault(); remember(); load(); });
  for (const field of ["aggregation", "group_by", "range"]) form.elements[field].addEventListener("change", () => { remember(); load(); });
  window.addEventListener("resize", () => chart.resize());
  let queued = null;
  connectSocket(`/ws/p/${page.project.slug}/live/`, {
    onMessage(message) {
      const payload = message.payload || {};
      if (window.FluxAnnotations) window.FluxAnnotations.onMessage(payload);
      if (payload.kind === "data" && (payload.metrics || []).includes(metric.name) && !queued) {
        queued = setTimeout(() => { queued = null; load(); }, 1000);
      }
    },
  });
})();
