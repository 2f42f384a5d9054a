// The project overview: GET /api/v1/overview, drawn as cards, a trend chart and tables; reloads when
// the project's live feed says data arrived (at most every few seconds).
(function () {
  "use strict";
  const { api, page, showError, format, connectSocket } = window.Flux;
  const base = `/p/${page.project.slug}`;
  const errorBox = document.getElementById("overview-error");
  const rangeSelect = document.getElementById("range");
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  const charts = {};
  const RELOAD_AT_MOST_EVERY_MS = 5000;

  function chart(element) {
    const key = element.id || element.parentElement.id;
    if (!charts[key]) charts[key] = echarts.init(element, dark ? "dark" : null);
    return charts[key];
  }

  function card(id, volume) {
    const element = document.getElementById(id);
    element.querySelector('[data-field="total"]').textContent = format.number(volume.total);
    const change = format.change(volume.change_percent, volume.total);
    const changeText = element.querySelector('[data-field="change"]');
    changeText.textContent = change.text;
    changeText.className = `change ${change.direction}`;
    chart(element.querySelector(".spark")).setOption({ backgroundColor: "transparent", animation: false,
      grid: { left: 0, right: 0, top: 4, bottom: 0 }, xAxis: { type: "time", show: false },
      yAxis: { type: "value", show: false },
      series: [{ type: "line", data: volume.series, showSymbol: false, areaStyle: { opacity: 0.15 } }] }, true);
  }

  function plural(count, noun) { return `${format.number(count)} ${noun}${count === 1 ? "" : "s"}`; }

  function fillTable(id, rows, fill) {
    const body = document.querySelector(`#${id} tbody`);
    body.replaceChildren();
    for (const item of rows) fill(body.insertRow(), item);
    document.querySelector(`[data-empty="${id}"]`).hidden = rows.length > 0;
  }

  function changeCell(row, percent, current) {
    const change = format.change(percent, current);
    format.cell(row, change.text.replace(" vs previous", ""), `change ${change.direction}`);
  }

  function render(data) {
    card("card-events", data.events);
    card("card-points", data.metric_points);
    const health = data.ingestion;
    document.querySelector('#card-last [data-field="last"]').textContent = format.ago(health.last_received_at);
    document.querySelector('#card-last [data-field="when"]').textContent =
      health.available ? format.time(health.last_received_at) : "Ingestion counters are unavailable (Redis).";
    const hour = health.last_hour;
    const rejected = hour.rejected_items + hour.rejected_requests;
    document.querySelector('#card-rejected [data-field="rejected"]').textContent = format.number(rejected);
    document.getElementById("card-rejected").classList.toggle("alert", rejected > 0);
    document.querySelector('#card-rejected [data-field="accepted"]').textContent =
      `${plural(hour.rejected_items, "item")}, ${plural(hour.rejected_requests, "request")}; ` +
      `${format.number(hour.accepted)} accepted`;
    chart(document.getElementById("trend")).setOption({ backgroundColor: "transparent", animation: false,
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 56, right: 56, top: 32, bottom: 28 },
      xAxis: { type: "time" }, yAxis: [{ type: "value", name: "events" }, { type: "value", name: "points" }],
      series: [{ name: "Events", type: "line", showSymbol: false, areaStyle: { opacity: 0.2 }, data: data.events.series },
               { name: "Metric points", type: "line", yAxisIndex: 1, showSymbol: false, data: data.metric_points.series }] }, true);
    fillTable("top-events", data.top_events, (row, item) => {
      row.insertCell().append(format.link(`${base}/events/?name=${encodeURIComponent(item.name)}`, item.name));
      format.cell(row, format.number(item.count));
      changeCell(row, item.change_percent, item.count);
    });
    fillTable("active-metrics", data.active_metrics, (row, item) => {
      row.insertCell().append(format.link(`${base}/metrics/${encodeURIComponent(item.name)}/`, item.name));
      format.cell(row, item.type);
      format.cell(row, format.number(item.points));
      changeCell(row, item.change_percent, item.points);
    });
    const open = data.anomalies.open;
    document.getElementById("anomaly-counts").textContent =
      `${open.critical} critical, ${open.warning} warning, ${open.info} info`;
    fillTable("overview-anomalies", data.anomalies.newest, (row, item) => {
      const badge = document.createElement("span");
      badge.className = `badge severity-${item.severity}`;
      badge.textContent = item.severity;
      row.insertCell().append(badge);
      row.insertCell().append(format.link(`${base}/anomalies/${item.id}/`, item.series.name));
      const percent = item.deviation_percent === null ? "" : ` ${item.deviation_percent > 0 ? "+" : ""}${item.deviation_percent.toFixed(0)}%`;
      format.cell(row, `${item.kind.replace("_", " ")}${percent}`);
      format.cell(row, format.ago(item.started_at));
    });
    fillTable("rejections", health.recent_rejections, (row, item) => {
      format.cell(row, format.time(item.at));
      const where = item.index === null ? `${item.kind} line` : `${item.kind} #${item.index}`;
      format.cell(row, item.kind === "request" ? "whole request" : where);
      format.cell(row, item.errors.join("; "));
    });
  }

  // "This week at a glance": the last 7 days in sentences (GET /api/v1/insights/summary), read once per visit.
  async function loadWeekSummary() {
    const summary = document.getElementById("week-summary");
    try {
      summary.textContent = (await api("/api/v1/insights/summary", { params: { period: "last_7d" } })).text;
      summary.classList.remove("muted");
    } catch (error) {
      summary.textContent = `The summary could not be read: ${error.message}`;
    }
  }

  let loading = null;
  let lastLoad = 0;
  let queued = null;
  async function load() {
    lastLoad = Date.now();
    try {
      render(await api("/api/v1/overview", { params: { period: rangeSelect.value, interval: "auto" } }));
      showError(errorBox, null);
      document.body.dataset.loadedAt = String(Date.now());
    } catch (error) {
      showError(errorBox, error);
    }
  }
  function reloadSoon() {
    if (queued) return;
    queued = setTimeout(() => { queued = null; loading = load(); }, Math.max(0, lastLoad + RELOAD_AT_MOST_EVERY_MS - Date.now()));
  }

  rangeSelect.addEventListener("change", () => {
    const params = new URLSearchParams(window.location.search);
    params.set("range", rangeSelect.value);
    window.history.replaceState(null, "", `?${params}`);
    load();
  });
  const remembered = new URLSearchParams(window.location.search).get("range");
  if (remembered && [...rangeSelect.options].some((option) => option.value === remembered)) rangeSelect.value = remembered;
  window.addEventListener("resize", () => Object.values(charts).forEach((instance) => instance.resize()));
  loading = load();
  loadWeekSummary();
  connectSocket(`/ws/p/${page.project.slug}/live/`, {
    onMessage(message) { if (message.type === "message" && ["data", "anomaly"].includes(message.payload.kind)) reloadSoon(); },
  });
})();
