// The anomalies list: filters in the URL, newest first, acknowledge/resolve in place, live as they change.
(function () {
  "use strict";
  const { api, page, showError, format, connectSocket } = window.Flux;
  const form = document.getElementById("filters");
  const tbody = document.querySelector("#anomalies tbody");
  const errorBox = document.getElementById("anomalies-error");
  const moreButton = document.getElementById("more");
  const FIELDS = ["status", "severity", "kind", "name"];
  let cursor = null;

  function params() {
    const values = {};
    for (const field of FIELDS) if (form.elements[field].value) values[field] = form.elements[field].value;
    return values;
  }

  function seriesLabel(series) {
    const tags = Object.entries(series.tags).map(([key, value]) => `${key}=${value}`).join(", ");
    return `${series.name}${tags ? ` {${tags}}` : ""}${series.measure !== "count" ? ` · ${series.measure}` : ""}`;
  }

  function whatLabel(anomaly) {
    const percent = anomaly.deviation_percent;
    const kind = anomaly.kind.replace("_", " ");
    return percent === null ? kind : `${kind} ${percent > 0 ? "+" : ""}${percent.toFixed(0)}%`;
  }

  function row(anomaly) {
    const tr = tbody.insertRow();
    tr.dataset.id = anomaly.id;
    const badge = document.createElement("span");
    badge.className = `badge severity-${anomaly.severity}`;
    badge.textContent = anomaly.severity;
    tr.insertCell().append(badge);
    tr.insertCell().append(format.link(`/p/${page.project.slug}/anomalies/${anomaly.id}/`, seriesLabel(anomaly.series)));
    format.cell(tr, whatLabel(anomaly));
    format.cell(tr, `${format.zonedTime(anomaly.started_at)} (${format.ago(anomaly.started_at)})`);
    format.cell(tr, format.number(anomaly.actual), "num");
    format.cell(tr, format.number(anomaly.expected), "num");
    format.cell(tr, anomaly.status);
    if (page.can_edit) {
      const actions = tr.insertCell();
      actions.className = "actions";
      if (anomaly.status === "open") actions.append(button("acknowledge", "Acknowledge"));
      if (anomaly.status !== "resolved") actions.append(button("resolve", "Resolve"));
    }
  }

  function button(action, text) {
    const element = document.createElement("button");
    element.className = "link";
    element.type = "button";
    element.dataset.action = action;
    element.textContent = text;
    return element;
  }

  async function load(reset) {
    try {
      if (reset) { tbody.replaceChildren(); cursor = null; }
      const body = await api("/api/v1/anomalies", { params: { ...params(), limit: 50, cursor: reset ? null : cursor } });
      body.anomalies.forEach(row);
      cursor = body.next_cursor;
      moreButton.hidden = !cursor;
      document.getElementById("no-anomalies").hidden = tbody.rows.length > 0;
      showError(errorBox, null);
      document.body.dataset.loadedAt = String(Date.now());
    } catch (error) {
      showError(errorBox, error);
    }
  }

  function remember() {
    const query = new URLSearchParams();
    for (const field of FIELDS) query.set(field, form.elements[field].value);
    window.history.replaceState(null, "", `?${query}`);
  }

  const remembered = new URLSearchParams(window.location.search);
  for (const field of FIELDS) if (remembered.has(field)) form.elements[field].value = remembered.get(field);
  form.addEventListener("submit", (event) => { event.preventDefault(); remember(); load(true); });
  for (const field of ["status", "severity", "kind"]) form.elements[field].addEventListener("change", () => { remember(); load(true); });
  moreButton.addEventListener("click", () => load(false));
  tbody.addEventListener("click", async (event) => {
    const target = event.target.closest("button[data-action]");
    if (!target) return;
    try {
      await api(`/api/v1/anomalies/${target.closest("tr").dataset.id}/${target.dataset.action}`, { method: "POST", body: {} });
      load(true);
    } catch (error) {
      showError(errorBox, error);
    }
  });
  const all = document.getElementById("acknowledge-all");
  if (all) {
    all.addEventListener("click", async () => {
      if (!window.confirm("Acknowledge every open anomaly these filters match?")) return;
      try {
        // The open ones of the filters shown (the status filter aside), not every open one of the project.
        const filters = params();
        delete filters.status;
        const body = await api("/api/v1/anomalies/acknowledge_all", { method: "POST", body: filters });
        all.textContent = `Acknowledged ${body.acknowledged}`;
        load(true);
      } catch (error) {
        showError(errorBox, error);
      }
    });
  }
  let queued = null;
  connectSocket(`/ws/p/${page.project.slug}/live/`, {
    onMessage(message) {
      if (message.type === "message" && message.payload.kind === "anomaly" && !queued) {
        queued = setTimeout(() => { queued = null; load(true); }, 500);
      }
    },
  });
  load(true);
})();
