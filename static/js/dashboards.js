// The dashboards list: create, import, rename, duplicate, export, make default, delete.
(function () {
  "use strict";
  const { api, page, showError } = window.Flux;
  const errorBox = document.getElementById("list-error");
  const base = `/p/${page.project.slug}/dashboards/`;

  const form = document.getElementById("new-dashboard");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const created = await api("/api/v1/dashboards", { method: "POST", body: { name: form.elements.name.value } });
        window.location = `${base}${created.slug}/`;
      } catch (error) {
        showError(errorBox, error);
      }
    });
  }

  function download(filename, data) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
    link.download = filename.replace(/[^\w.-]+/g, "-");
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  const importFile = document.getElementById("import-file");
  if (importFile) {
    importFile.addEventListener("change", async () => {
      const file = importFile.files[0];
      if (!file) return;
      try {
        let body;
        try { body = JSON.parse(await file.text()); } catch { throw new Error(`${file.name} is not JSON`); }
        const created = await api("/api/v1/dashboards/import", { method: "POST", body });
        window.location = `${base}${created.slug}/`;
      } catch (error) {
        showError(errorBox, error);
      } finally {
        importFile.value = "";
      }
    });
  }

  document.getElementById("dashboards").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const row = button.closest("tr");
    const path = `/api/v1/dashboards/${row.dataset.id}`;
    try {
      switch (button.dataset.action) {
        case "rename": {
          const name = window.prompt("New name", row.dataset.name);
          if (!name) return;
          await api(path, { method: "PATCH", body: { name } });
          break;
        }
        case "export": {
          download(`${row.dataset.name}.json`, await api(`${path}/export`));
          return;
        }
        case "duplicate":
          await api(`${path}/duplicate`, { method: "POST", body: {} });
          break;
        case "default":
          await api(path, { method: "PATCH", body: { is_default: true } });
          break;
        case "delete":
          if (!window.confirm(`Delete "${row.dataset.name}" and its widgets?`)) return;
          await api(path, { method: "DELETE" });
          break;
      }
      window.location.reload();
    } catch (error) {
      showError(errorBox, error);
    }
  });
})();
