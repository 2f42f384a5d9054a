// Anomaly settings: the project's sensitivity, each watched series' own settings, and notification
// channels (add, send a test, see the delivery log, delete).
(function () {
  "use strict";
  const { api, page, showError, format } = window.Flux;
  const errorBox = document.getElementById("settings-error");
  const settingsForm = document.getElementById("project-settings");
  const seriesBody = document.querySelector("#series tbody");
  let watches = [];

  async function guarded(work, box = errorBox) {
    try { await work(); showError(box, null); } catch (error) { showError(box, error); }
  }

  async function loadSettings() {
    const settings = await api("/api/v1/anomalies/settings");
    settingsForm.elements.enabled.checked = settings.enabled;
    settingsForm.elements.sensitivity.value = settings.sensitivity;
  }
  settingsForm.addEventListener("change", (event) => guarded(async () => {
    if (event.target.name === "enabled" && !event.target.checked &&
        !window.confirm("Stop watching every series? Every open anomaly the detector found is resolved.")) {
      event.target.checked = true;
      return;
    }
    await api("/api/v1/anomalies/settings", { method: "PATCH",
      body: { enabled: settingsForm.elements.enabled.checked, sensitivity: settingsForm.elements.sensitivity.value } });
    document.getElementById("settings-saved").textContent = "Saved.";
  }));

  function select(options, value, disabled) {
    const element = document.createElement("select");
    for (const [optionValue, text] of options) element.add(new Option(text, optionValue));
    element.value = value;
    element.disabled = disabled;
    return element;
  }

  function renderSeries() {
    const filter = document.getElementById("series-filter").value.trim().toLowerCase();
    seriesBody.replaceChildren();
    for (const watch of watches.filter((item) => item.name.toLowerCase().includes(filter))) {
      const tr = seriesBody.insertRow();
      tr.dataset.id = watch.id;
      const tags = Object.entries(watch.tags).map(([key, value]) => `${key}=${value}`).join(", ");
      format.cell(tr, `${watch.name}${tags ? ` {${tags}}` : ""}`);
      format.cell(tr, watch.measure);
      const sensitivities = [["", "project's"], ...page.choices.sensitivities.map((value) => [value, value])];
      const label = `${watch.name}${tags ? ` {${tags}}` : ""}`;
      const sensitivity = select(sensitivities, watch.sensitivity || "", !page.can_edit);
      sensitivity.setAttribute("aria-label", `Sensitivity of ${label}`);
      tr.insertCell().append(sensitivity);
      const excluded = document.createElement("input");
      excluded.type = "checkbox";
      excluded.checked = watch.excluded;
      excluded.disabled = !page.can_edit;
      excluded.setAttribute("aria-label", `Exclude ${label}`);
      tr.insertCell().append(excluded);
      format.cell(tr, watch.muted_until ? format.muteEnd(watch.muted_until) : "");
      const actions = tr.insertCell();
      if (page.can_edit && watch.muted_until) {
        const unmute = document.createElement("button");
        unmute.className = "link";
        unmute.type = "button";
        unmute.dataset.action = "unmute";
        unmute.textContent = "Unmute";
        actions.append(unmute);
      }
    }
    document.getElementById("no-series").hidden = watches.length > 0;
  }

  async function loadSeries() {
    watches = (await api("/api/v1/anomalies/series")).series;
    renderSeries();
  }
  document.getElementById("series-filter").addEventListener("input", renderSeries);
  seriesBody.addEventListener("change", (event) => guarded(async () => {
    const tr = event.target.closest("tr");
    const body = event.target.type === "checkbox" ? { excluded: event.target.checked } : { sensitivity: event.target.value };
    await api(`/api/v1/anomalies/series/${tr.dataset.id}`, { method: "PATCH", body });
    await loadSeries();
  }));
  seriesBody.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action=unmute]");
    if (!button) return;
    guarded(async () => {
      await api(`/api/v1/anomalies/series/${button.closest("tr").dataset.id}`, { method: "PATCH", body: { muted_until: null } });
      await loadSeries();
    });
  });

  async function loadChannels() {
    const body = document.querySelector("#channels tbody");
    if (!body) return;
    const channels = (await api("/api/v1/anomalies/channels")).channels;
    body.replaceChildren();
    for (const channel of channels) {
      const tr = body.insertRow();
      tr.dataset.id = channel.id;
      tr.dataset.name = channel.name;
      format.cell(tr, channel.name);
      format.cell(tr, channel.kind);
      format.cell(tr, channel.target);
      format.cell(tr, channel.min_severity);
      format.cell(tr, channel.notify_resolved ? "yes" : "no");
      format.cell(tr, channel.renotify_minutes ? `${channel.renotify_minutes} min` : "never");
      const actions = tr.insertCell();
      actions.className = "actions";
      for (const [action, text] of [["test", "Send test"], ["log", "Deliveries"], ["delete", "Delete"]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = action === "delete" ? "link danger" : "link";
        button.dataset.action = action;
        button.textContent = text;
        actions.append(button);
      }
    }
  }

  async function showDeliveries(id, name) {
    const deliveries = (await api(`/api/v1/anomalies/channels/${id}/deliveries`)).deliveries;
    const box = document.getElementById("deliveries");
    document.getElementById("deliveries-title").textContent = `Deliveries to ${name}`;
    const body = box.querySelector("tbody");
    body.replaceChildren();
    for (const delivery of deliveries) {
      const tr = body.insertRow();
      format.cell(tr, format.zonedTime(delivery.created_at));  // read beside the notices, which say UTC
      format.cell(tr, delivery.event);
      format.cell(tr, String(delivery.anomaly_ids.length));
      format.cell(tr, delivery.status);
      format.cell(tr, String(delivery.attempts));
      format.cell(tr, delivery.response_status ? String(delivery.response_status) : delivery.last_error);
    }
    box.hidden = false;
  }

  const channelsTable = document.getElementById("channels");
  if (channelsTable) {
    channelsTable.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const { id, name } = button.closest("tr").dataset;
      guarded(async () => {
        if (button.dataset.action === "test") {
          const delivery = await api(`/api/v1/anomalies/channels/${id}/test`, { method: "POST" });
          button.textContent = delivery.status !== "delivered" ? `Failed: ${delivery.last_error || delivery.response_status}`
            : delivery.last_error ? `Not sent: ${delivery.last_error}` : "Sent ✓";
          await showDeliveries(id, name);
        } else if (button.dataset.action === "log") {
          await showDeliveries(id, name);
        } else if (window.confirm(`Delete the channel "${name}"?`)) {
          await api(`/api/v1/anomalies/channels/${id}`, { method: "DELETE" });
          await loadChannels();
        }
      });
    });
    const form = document.getElementById("new-channel");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(async () => {
        const body = { name: form.elements.name.value, kind: form.elements.kind.value, target: form.elements.target.value,
          min_severity: form.elements.min_severity.value, notify_resolved: form.elements.notify_resolved.checked,
          renotify_minutes: Number(form.elements.renotify_minutes.value || 0) };
        if (form.elements.secret.value) body.secret = form.elements.secret.value;
        await api("/api/v1/anomalies/channels", { method: "POST", body });
        form.reset();
        await loadChannels();
      }, document.getElementById("channel-error"));
    });
  }

  guarded(async () => {
    await Promise.all([loadSettings(), loadSeries(), page.can_edit ? loadChannels() : null]);
    document.body.dataset.loadedAt = String(Date.now());
  });
})();
