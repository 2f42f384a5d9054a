// The metrics catalogue (GET /api/v1/metrics), filtered in the page by name glob, type and tag.
(function () {
  "use strict";
  const { api, page, showError, format } = window.Flux;
  const form = document.getElementById("filters");
  const tbody = document.querySelector("#metrics tbody");
  let catalogue = [];

  function globMatcher(text) {
    const glob = text.trim();
    if (!glob) return () => true;
    if (!glob.includes("*") && !glob.includes("?")) return (name) => name.toLowerCase().includes(glob.toLowerCase());
    const pattern = format.globPattern(glob, "i");
    return (name) => pattern.test(name);
  }

  function tagMatcher(text) {
    const [key, value] = text.split("=").map((part) => part && part.trim());
    if (!key) return () => true;
    return (tags) => key in tags && (value === undefined || value === "" || tags[key].includes(value));
  }

  function render() {
    const nameMatches = globMatcher(form.elements.q.value);
    const tagMatches = tagMatcher(form.elements.tag.value);
    const type = form.elements.type.value;
    const rows = catalogue.filter((metric) => nameMatches(metric.name) && (!type || metric.type === type) && tagMatches(metric.tags));
    tbody.replaceChildren();
    for (const metric of rows) {
      const tr = tbody.insertRow();
      tr.insertCell().append(format.link(`/p/${page.project.slug}/metrics/${encodeURIComponent(metric.name)}/`, metric.name));
      format.cell(tr, metric.type);
      format.cell(tr, format.number(metric.series), "num");
      const tags = tr.insertCell();
      for (const [key, values] of Object.entries(metric.tags)) {
        const chip = document.createElement("span");
        chip.className = "chip";
        chip.textContent = `${key}: ${values.map(format.tagValue).join(", ")}`;
        tags.append(chip);
      }
      format.cell(tr, format.ago(metric.last_seen));
    }
    document.getElementById("no-metrics").hidden = rows.length > 0;
    const params = new URLSearchParams();
    for (const field of ["q", "type", "tag"]) if (form.elements[field].value) params.set(field, form.elements[field].value);
    window.history.replaceState(null, "", params.size ? `?${params}` : window.location.pathname);
  }

  const remembered = new URLSearchParams(window.location.search);
  for (const field of ["q", "type", "tag"]) if (remembered.has(field)) form.elements[field].value = remembered.get(field);
  form.addEventListener("input", render);
  form.addEventListener("submit", (event) => { event.preventDefault(); render(); });
  api("/api/v1/metrics").then((body) => {
    catalogue = body.metrics;
    render();
    document.body.dataset.loadedAt = String(Date.now());
  }).catch((error) => showError(document.getElementById("explorer-error"), error));
})();
