// CSV downloads: a "CSV" button on every dashboard widget (GET …/widgets/{id}/export over the dashboard's
// current range and filters) and "Download CSV" on the events explorer (GET /api/v1/events/export with its
// filters). Fetched with the session and the project header, then saved through a temporary link.
(function () {
  "use strict";
  const { page, showError } = window.Flux;

  async function download(path, params, errorBox) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.append(key, value);
    }
    const response = await fetch(url, { headers: { "X-Flux-Project": page.project.slug }, credentials: "same-origin" });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      showError(errorBox, new Error((body.error && body.error.message) || `HTTP ${response.status}`));
      return;
    }
    showError(errorBox, null);
    const name = (/filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "") || [])[1] || "export.csv";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    if (response.headers.get("X-Flux-Truncated") === "true") {
      showError(errorBox, new Error(`Only the first ${response.headers.get("X-Flux-Max-Rows")} rows were exported: narrow the range.`));
    }
  }

  // Dashboards: widgets are (re)drawn by dashboard.js; give each title bar its button once.
  const grid = document.querySelector(".grid-stack");
  if (grid && window.FluxDashboard) {
    const errorBox = document.getElementById("dashboard-error") || document.querySelector("[role=alert]");
    const addButtons = () => {
      for (const title of grid.querySelectorAll(".widget-title:not([data-csv])")) {
        title.dataset.csv = "true";
        const widget = title.closest("[data-widget-id]");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link widget-csv";
        button.textContent = "CSV";
        button.title = "Download this widget's data as CSV";
        button.setAttribute("aria-label", `Download ${title.querySelector(".widget-handle").textContent} as CSV`);
        button.addEventListener("click", () => download(
          `/api/v1/dashboards/${window.FluxDashboard.dashboard.id}/widgets/${widget.dataset.widgetId}/export`,
          window.FluxDashboard.rangeParams(), errorBox));
        title.append(button);
      }
    };
    new MutationObserver(addButtons).observe(grid, { childList: true, subtree: true });
    addButtons();
  }

  // The events explorer.
  const head = document.querySelector(".page-head");
  if (head && window.FluxEvents) {
    const button = document.createElement("button");
    button.type = "button";
    button.id = "export-csv";
    button.textContent = "Download CSV";
    button.addEventListener("click", () => download("/api/v1/events/export", window.FluxEvents.queryParams(),
      document.getElementById("explorer-error")));
    head.append(button);
  }
})();
