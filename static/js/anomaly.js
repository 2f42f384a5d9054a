// One anomaly: the series with its expected band and the anomalous stretch shaded, the explanation,
// and acknowledge / resolve / reopen / mute.
(function () {
  "use strict";
  const { api, page, showError, format } = window.Flux;
  const path = `/api/v1/anomalies/${page.anomaly_id}`;
  const errorBox = document.getElementById("anomaly-error");
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  const chart = echarts.init(document.getElementById("anomaly-chart"), dark ? "dark" : null);
  let current = null;

  // The stretch one value covers: an hour, or five minutes for a busy series (a minute-checked episode's
  // count covers the minutes it has lasted).
  function bucketName(seconds) {
    if (seconds === 3600) return "hour";
    return seconds % 60 === 0 && seconds > 60 ? `${seconds / 60}-minute bucket` : "minute";
  }

  // The buckets an anomaly was found on: "an hour", "in 5 minutes" (five-minute scans).
  function perBucket(seconds) {
    if (seconds === 3600) return "an hour";
    return seconds % 3600 === 0 ? `in ${seconds / 3600} hours` : `in ${Math.round(seconds / 60)} minutes`;
  }

  // A minute check's episode (interval 60) holds the events of its whole stretch, not of one minute.
  function countUnit(anomaly) {
    if (anomaly.interval_seconds !== 60) return `events ${perBucket(anomaly.interval_seconds)}`;
    const minutes = Math.round((Date.parse(anomaly.last_anomalous_at) - Date.parse(anomaly.started_at)) / 60000) + 1;
    return `events in ${minutes} minutes`;
  }

  function describe(anomaly) {
    if (anomaly.kind === "threshold") {
      const limit = anomaly.direction === "up" ? anomaly.upper : anomaly.lower;
      return `Threshold alert: ${format.number(anomaly.actual)}, ${anomaly.direction === "up" ? "above" : "below"} ` +
        `the threshold ${format.number(limit)}, since ${format.zonedTime(anomaly.started_at)}.`;
    }
    const counts = anomaly.series.measure === "count";
    // What each measure is, said plainly: "866 rate" read as no unit at all.
    const measures = { rate: "a second (rate)", avg: "on average", p95: "(p95)", unique: "unique members" };
    const unit = counts ? countUnit(anomaly) : measures[anomaly.series.measure] || anomaly.series.measure;
    const verb = counts && anomaly.expected !== 1 ? "were" : "was";
    const notes = [];
    if (anomaly.lower !== null || anomaly.upper !== null) {
      notes.push(`band ${format.number(anomaly.lower)} to ${format.number(anomaly.upper)}`);
    }
    if (anomaly.deviation_percent !== null) {
      notes.push(`${anomaly.deviation_percent > 0 ? "+" : ""}${anomaly.deviation_percent.toFixed(0)}%`);
    }
    return `${anomaly.kind.replace("_", " ")} ${anomaly.direction}: ${format.number(anomaly.actual)} ${unit} where ` +
      `${format.number(anomaly.expected)} ${verb} expected${notes.length ? ` (${notes.join("; ")})` : ""}, ` +
      `since ${format.zonedTime(anomaly.started_at)}.`;
  }

  function drawChart(anomaly) {
    const points = anomaly.context;
    // Points are an hour or five minutes apart (the interval the series is scanned at): shade to the end of
    // the point holding the last anomalous moment.
    const step = points.length > 1 ? Date.parse(points[1].time) - Date.parse(points[0].time) : anomaly.interval_seconds * 1000;
    const last = Date.parse(anomaly.last_anomalous_at);
    const shadeEnd = new Date(Math.max(last + anomaly.interval_seconds * 1000, last - (last % step) + step)).toISOString();
    chart.setOption({ backgroundColor: "transparent", animation: false, tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["value", "expected", "band"] }, grid: { left: 56, right: 16, top: 32, bottom: 28 },
      xAxis: { type: "time" }, yAxis: { type: "value", scale: true },
      series: [
        { name: "lower", type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 },
          data: points.map((p) => [p.time, p.lower]) },
        { name: "band", type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 },
          areaStyle: { opacity: 0.18 }, data: points.map((p) => [p.time, p.upper === null || p.lower === null ? null : p.upper - p.lower]) },
        { name: "expected", type: "line", symbol: "none", lineStyle: { type: "dashed" }, data: points.map((p) => [p.time, p.expected]) },
        { name: "value", type: "line", showSymbol: false, connectNulls: false, data: points.map((p) => [p.time, p.value]),
          markArea: { itemStyle: { color: "rgba(201, 42, 42, 0.15)" }, data: [[{ xAxis: anomaly.started_at }, { xAxis: shadeEnd }]] } },
      ] }, true);
  }

  function fact(list, term, value) {
    if (value === null || value === undefined || value === "") return;
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  function render(anomaly) {
    current = anomaly;
    const tags = Object.entries(anomaly.series.tags).map(([key, value]) => `${key}=${value}`).join(", ");
    document.getElementById("anomaly-title").textContent = `${anomaly.series.name}${tags ? ` {${tags}}` : ""}`;
    document.getElementById("status").textContent = anomaly.status;
    const severity = document.getElementById("severity");
    severity.textContent = anomaly.severity;
    severity.className = `badge severity-${anomaly.severity}`;
    document.getElementById("summary").textContent = describe(anomaly);
    document.getElementById("explanation").textContent = (anomaly.explanation && anomaly.explanation.text) || "";
    const rows = document.querySelector("#contributors tbody");
    rows.replaceChildren();
    for (const item of (anomaly.explanation && anomaly.explanation.contributors) || []) {
      const tr = rows.insertRow();
      format.cell(tr, `${item.tag}=${item.value}`);
      format.cell(tr, format.number(item.actual), "num");
      format.cell(tr, format.number(item.expected), "num");
      format.cell(tr, `${Math.round(item.share * 100)}%`, "num");
    }
    document.getElementById("contributors").hidden = !rows.rows.length;
    const facts = document.getElementById("facts");
    facts.replaceChildren();
    fact(facts, "score", anomaly.score.toFixed(2));
    fact(facts, "started", format.zonedTime(anomaly.started_at));
    fact(facts, `last anomalous ${bucketName(anomaly.interval_seconds)}`, format.zonedTime(anomaly.last_anomalous_at));
    fact(facts, "acknowledged", anomaly.acknowledged_by && `${anomaly.acknowledged_by}, ${format.zonedTime(anomaly.acknowledged_at)}`);
    fact(facts, "resolved", anomaly.resolved_at && `${anomaly.resolved_by || "by itself"}, ${format.zonedTime(anomaly.resolved_at)}`);
    fact(facts, "note", anomaly.note);
    fact(facts, "series muted until", anomaly.series.muted_until && format.muteEnd(anomaly.series.muted_until, format.zonedTime));
    for (const button of document.querySelectorAll("#actions button[data-action]")) {
      const action = button.dataset.action;
      button.hidden = !((action === "acknowledge" && anomaly.status === "open") ||
        (action === "resolve" && anomaly.status !== "resolved") || (action === "reopen" && anomaly.status === "resolved"));
    }
    // A threshold rule's own series is not a watched series: its alerts stop by disabling the rule.
    const muteBox = document.getElementById("mute");
    if (muteBox) {
      muteBox.hidden = document.getElementById("mute-apply").hidden = anomaly.kind === "threshold";
      // Unmuting is offered only while the series is muted.
      const muted = Boolean(anomaly.series.muted_until) && new Date(anomaly.series.muted_until) > new Date();
      muteBox.querySelector("option[value=unmute]").hidden = !muted;
    }
    drawChart(anomaly);
    document.body.dataset.loadedAt = String(Date.now());
  }

  async function load() {
    try { render(await api(path)); showError(errorBox, null); } catch (error) { showError(errorBox, error); }
  }

  document.getElementById("actions").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const note = document.getElementById("note");
    try {
      await api(`${path}/${button.dataset.action}`, { method: "POST", body: note && note.value ? { note: note.value } : {} });
      await load();
    } catch (error) {
      showError(errorBox, error);
    }
  });
  const mute = document.getElementById("mute");
  if (mute) {
    // On a button, not on the select's change: a keyboard's arrow key through the choices changes it.
    document.getElementById("mute-apply").addEventListener("click", async () => {
      const choice = mute.value;
      if (!choice || !current) return;
      const until = choice === "unmute" ? null : new Date(Date.now() + Number(choice) * 3600 * 1000).toISOString();
      try {
        await api(`/api/v1/anomalies/series/${current.series.id}`, { method: "PATCH", body: { muted_until: until } });
        await load();
      } catch (error) {
        showError(errorBox, error);
      } finally {
        mute.value = "";
      }
    });
  }
  window.addEventListener("resize", () => chart.resize());
  load();
})();
