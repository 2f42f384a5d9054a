// Threshold alert rules on the anomaly settings page: list, add, switch on/off, delete.
(function () {
  "use strict";
  const { api, page, showError } = window.Flux;
  const body = document.querySelector("#thresholds tbody");
  const form = document.getElementById("new-threshold");
  const errorBox = document.getElementById("threshold-error");

  async function guarded(work) {
    try { await work(); showError(errorBox, null); } catch (error) { showError(errorBox, error); }
  }

  async function load() {
    const { rules } = await api("/api/v1/anomalies/thresholds");
    body.replaceChildren();
    document.getElementById("no-thresholds").hidden = rules.length > 0;
    for (const rule of rules) {
      const row = body.insertRow();
      row.dataset.id = rule.id;
      const tags = Object.entries(rule.tags).map(([key, value]) => `${key}=${value}`).join(", ");
      row.insertCell().textContent = `${rule.name}${tags ? ` {${tags}}` : ""} (${rule.source})`;
      const condition = row.insertCell();
      condition.textContent = `${rule.aggregation} ${rule.comparator} ${rule.threshold} over ${rule.duration_minutes} min`;
      if (rule.problem) {
        const problem = document.createElement("p");
        problem.className = "error";
        problem.textContent = rule.problem;
        condition.append(problem);
      }
      row.insertCell().textContent = rule.severity;
      const enabled = document.createElement("input");
      enabled.type = "checkbox";
      enabled.checked = rule.enabled;
      enabled.disabled = !page.can_edit;
      enabled.dataset.action = "toggle-threshold";
      enabled.setAttribute("aria-label", `Alert on ${rule.name} is on`);
      row.insertCell().append(enabled);
      const actions = row.insertCell();
      if (page.can_edit) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link danger";
        remove.dataset.action = "delete-threshold";
        remove.textContent = "Delete";
        remove.setAttribute("aria-label", `Delete the alert on ${rule.name}`);
        actions.append(remove);
      }
    }
  }

  body.addEventListener("change", (event) => {
    const box = event.target.closest("input[data-action=toggle-threshold]");
    if (box) guarded(() => api(`/api/v1/anomalies/thresholds/${box.closest("tr").dataset.id}`, { method: "PATCH", body: { enabled: box.checked } }));
  });
  body.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action=delete-threshold]");
    if (!button || !window.confirm("Delete this alert and its history?")) return;
    guarded(async () => {
      await api(`/api/v1/anomalies/thresholds/${button.closest("tr").dataset.id}`, { method: "DELETE" });
      await load();
    });
  });
  if (form) {
    form.elements.source.addEventListener("change", () => {
      form.elements.aggregation.value = form.elements.source.value === "events" ? "count" : "avg";
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const fields = form.elements;
      guarded(async () => {
        await api("/api/v1/anomalies/thresholds", { method: "POST", body: {
          source: fields.source.value, name: fields.name.value.trim(), aggregation: fields.aggregation.value.trim(),
          comparator: fields.comparator.value, threshold: Number(fields.threshold.value),
          duration_minutes: Number(fields.duration_minutes.value), severity: fields.severity.value } });
        form.reset();
        await load();
      });
    });
  }
  guarded(load);
})();
