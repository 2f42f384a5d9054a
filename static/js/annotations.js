// Annotations (deploys, campaigns) on every graph of the page: vertical lines for instants, shaded bands for
// ranges (one extra, data-less ECharts series carrying markLine/markArea). Clicking an empty spot of a graph
// opens a small form to add one there; the list under the page deletes them. Pushed live over the socket.
(function () {
  "use strict";
  const { api, page, showError } = window.Flux;
  const SERIES_ID = "flux-annotations";
  const COLOR = "#7048e8";
  const dialog = document.getElementById("annotation-dialog");
  const form = document.getElementById("annotation-form");
  const list = document.getElementById("annotation-list");
  const errorBox = document.getElementById("annotation-error");
  const charts = new Set();
  let annotations = [];

  function rangeParams() {
    if (window.FluxDashboard) {
      const params = window.FluxDashboard.rangeParams();
      return Object.fromEntries(["from", "to", "period", "timezone"].filter((key) => params[key]).map((key) => [key, params[key]]));
    }
    const select = document.querySelector("#controls [name=range]");
    return select ? { period: select.value } : {};
  }

  function markSeries() {
    const label = (text) => (text.length > 40 ? `${text.slice(0, 39)}…` : text);
    return {
      id: SERIES_ID, type: "line", data: [], silent: false, tooltip: { show: false },
      markLine: { symbol: ["none", "none"], animation: false, lineStyle: { color: COLOR, type: "dashed", width: 1.5 },
        label: { show: false }, emphasis: { label: { show: true, formatter: "{b}", position: "insideEndTop" } },
        data: annotations.filter((item) => !item.time_end).map((item) => ({ xAxis: item.time, name: label(item.text) })) },
      markArea: { itemStyle: { color: "rgba(112, 72, 232, 0.10)" }, label: { show: false },
        emphasis: { label: { show: true, position: "insideTop" } },
        data: annotations.filter((item) => item.time_end).map((item) => [{ xAxis: item.time, name: label(item.text) }, { xAxis: item.time_end }]) },
    };
  }

  function draw(chart) {
    const option = chart.getOption();
    // Merged by id: added the first time, replaced after. Kept out of the legend, which lists every series.
    const update = { series: [markSeries()] };
    if (option.legend && option.legend.length) {
      update.legend = { data: option.series.filter((series) => series.id !== SERIES_ID).map((series) => series.name) };
    }
    chart.setOption(update);
    const body = chart.getDom().closest(".widget-body") || chart.getDom();
    body.dataset.annotations = String(annotations.length);
  }

  function askAt(chart, time) {
    if (!form) return;
    form.reset();
    form.elements.time.value = new Date(time).toISOString().replace(/\.\d{3}Z$/, "Z");
    showError(errorBox, null);
    dialog.showModal();
    form.elements.text.focus();
  }

  // Clicks on nothing drawn inside the plot area add an annotation there; clicks on points, bars and markers
  // (and the end of a drag) are left to the graph's own handling.
  function listenForClicks(chart) {
    if (!page.can_edit) return;
    const zr = chart.getZr();
    let down = null;
    zr.on("mousedown", (event) => { down = [event.offsetX, event.offsetY]; });
    zr.on("click", (event) => {
      const point = [event.offsetX, event.offsetY];
      const moved = down && Math.hypot(point[0] - down[0], point[1] - down[1]) > 4;
      if (event.target || moved || !chart.containPixel({ gridIndex: 0 }, point)) return;
      // A click on (or right next to) a drawn point drills down instead (static/js/widgets.js).
      if (window.FluxWidgets && window.FluxWidgets.pointAt && window.FluxWidgets.pointAt(chart, ...point)) return;
      const time = chart.convertFromPixel({ xAxisIndex: 0 }, point[0]);
      if (Number.isFinite(time)) askAt(chart, time);
    });
  }

  function decorate(chart) {
    if (!charts.has(chart)) { charts.add(chart); listenForClicks(chart); }
    draw(chart);
  }

  function redrawAll() {
    for (const chart of [...charts]) {
      if (chart.isDisposed()) charts.delete(chart);
      else draw(chart);
    }
  }

  function renderList() {
    if (!list) return;
    list.replaceChildren();
    document.getElementById("annotation-count").textContent = String(annotations.length);
    for (const item of annotations) {
      const entry = document.createElement("li");
      entry.dataset.id = item.id;
      const when = window.Flux.format ? window.Flux.format.time(item.time) : item.time;
      const until = item.time_end ? ` – ${window.Flux.format ? window.Flux.format.time(item.time_end) : item.time_end}` : "";
      const tags = Object.entries(item.tags).map(([key, value]) => `${key}=${value}`).join(", ");
      const text = document.createElement("span");
      text.textContent = `${when}${until}: ${item.text}${tags ? ` (${tags})` : ""}${item.created_by ? ` · ${item.created_by}` : ""}`;
      entry.append(text);
      if (page.can_edit) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link";
        remove.dataset.action = "delete-annotation";
        remove.textContent = "Delete";
        remove.setAttribute("aria-label", `Delete annotation ${item.text}`);
        entry.append(" ", remove);
      }
      list.append(entry);
    }
  }

  async function refresh() {
    try {
      const body = await api("/api/v1/annotations", { params: { ...rangeParams(), limit: 1000 } });
      annotations = body.annotations;
      redrawAll();
      renderList();
      document.body.dataset.annotationsAt = String(Date.now());
    } catch (error) {
      if (errorBox) showError(errorBox, error);
    }
  }

  function tagsFrom(text) {
    const tags = {};
    for (const pair of text.split(",").map((part) => part.trim()).filter(Boolean)) {
      const at = pair.indexOf("=");
      if (at < 1) throw new Error(`Tag "${pair}" should look like key=value`);
      tags[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
    return tags;
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (event.submitter && event.submitter.value === "cancel") { dialog.close(); return; }
      try {
        const body = { time: form.elements.time.value.trim(), text: form.elements.text.value.trim(),
                       tags: tagsFrom(form.elements.tags.value) };
        if (form.elements.time_end.value.trim()) body.time_end = form.elements.time_end.value.trim();
        await api("/api/v1/annotations", { method: "POST", body });
        dialog.close();
        await refresh();
      } catch (error) {
        showError(errorBox, error);
      }
    });
  }

  if (list) {
    list.addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-action=delete-annotation]");
      if (!button || !window.confirm("Delete this annotation?")) return;
      try {
        await api(`/api/v1/annotations/${button.closest("li").dataset.id}`, { method: "DELETE" });
        await refresh();
      } catch (error) {
        showError(errorBox, error);
      }
    });
  }

  // The page's own load (first, a range change, a refresh) marks the body: fetch the annotations of that range.
  let lastLoad = null;
  new MutationObserver(() => {
    if (document.body.dataset.loadedAt && document.body.dataset.loadedAt !== lastLoad) {
      lastLoad = document.body.dataset.loadedAt;
      refresh();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ["data-loaded-at"] });

  let queued = null;
  function onMessage(payload) {
    if (payload.kind !== "annotation" || queued) return;
    queued = setTimeout(() => { queued = null; refresh(); }, 200);
  }

  window.FluxAnnotations = { decorate, onMessage, refresh };
})();
