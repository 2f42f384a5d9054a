// The events explorer: filters kept in the URL, newest first with "load older", a live tail fed by the
// project's live feed, and an event's detail beside the list.
(function () {
  "use strict";
  const { api, page, showError, format, connectSocket } = window.Flux;
  const form = document.getElementById("filters");
  const tbody = document.querySelector("#events tbody");
  const moreButton = document.getElementById("more");
  const liveBox = document.getElementById("live");
  const errorBox = document.getElementById("explorer-error");
  const PAGE = 100;
  const FIELDS = ["name", "tags", "properties", "user_id", "range", "from", "to"]; // in the address and saved views
  const TAIL_LOOKBACK_MS = 5 * 60 * 1000; // late events up to this much older than the newest shown still show
  const shown = new Set();
  let cursor = null;
  let newest = null;

  function parseTags(text) {
    const tags = {};
    for (const pair of text.split(",").map((part) => part.trim()).filter(Boolean)) {
      const at = pair.indexOf("=");
      if (at < 1) throw new Error(`Tag filter "${pair}" should look like key=value`);
      tags[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
    return tags;
  }

  function filterParams() {
    const params = { name: form.elements.name.value.trim(), user_id: form.elements.user_id.value.trim() };
    for (const [key, value] of Object.entries(parseTags(form.elements.tags.value))) params[`tags[${key}]`] = value;
    for (const [key, value] of Object.entries(parseTags(form.elements.properties.value))) params[`properties.${key}`] = value;
    return params;
  }

  function rangeParams() {
    if (form.elements.range.value !== "custom") return { period: form.elements.range.value };
    return { from: form.elements.from.value, to: form.elements.to.value || "now" };
  }

  function isFollowingNow() { return form.elements.range.value !== "custom" || !form.elements.to.value; }

  function tagChips(cell, tags) {
    for (const [key, value] of Object.entries(tags || {})) {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.textContent = `${key}=${value}`;
      cell.append(chip);
    }
  }

  function row(event, where) {
    const tr = document.createElement("tr");
    tr.dataset.id = event.id;
    tr.tabIndex = 0; // reached with Tab and opened with Enter, as with a click
    tr.setAttribute("aria-label", `${event.name} at ${format.time(event.timestamp)}: show the event`);
    format.cell(tr, format.time(event.timestamp));
    format.cell(tr, event.name);
    format.cell(tr, event.user_id ?? "");
    format.cell(tr, event.value === null ? "" : format.number(event.value), "num");
    tagChips(tr.insertCell(), event.tags);
    if (where === "top") { tr.classList.add("fresh"); tbody.prepend(tr); } else { tbody.append(tr); }
    shown.add(event.id);
    if (!newest || event.timestamp > newest) newest = event.timestamp;
  }

  async function count() {
    const body = await api("/api/v1/events/count", { params: { ...filterParams(), ...rangeParams(), interval: "auto" } });
    document.getElementById("summary").textContent = `${format.number(body.count)} events match in this range.`;
    drawVolume(body);
  }

  // The volume over the range, one bar per bucket; a click on a bar narrows the range to that bucket.
  let volumeChart = null;
  let volumePoints = [];
  function drawVolume(body) {
    const element = document.getElementById("volume");
    if (!volumeChart) {
      const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
      volumeChart = echarts.init(element, dark ? "dark" : null);
      // Anywhere over a bucket counts, not only on its (often thin) bar.
      volumeChart.getZr().on("click", (event) => {
        const at = volumeChart.convertFromPixel({ xAxisIndex: 0 }, event.offsetX);
        const interval = element.dataset.interval;
        const bucket = volumePoints.map((point) => new Date(point[0]).getTime())
          .find((start) => start <= at && at < start + BUCKET_MS[interval]);
        if (bucket !== undefined) zoomTo(bucket, interval);
      });
      window.addEventListener("resize", () => volumeChart.resize());
    }
    element.dataset.interval = body.interval;
    volumePoints = body.points;
    element.dataset.buckets = String(body.points.length);
    volumeChart.setOption({ backgroundColor: "transparent", animation: false, tooltip: { trigger: "axis" },
      grid: { left: 40, right: 12, top: 8, bottom: 24 }, xAxis: { type: "time" }, yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", name: "events", data: body.points, barMaxWidth: 24 }] }, true);
  }

  const BUCKET_MS = { "1m": 6e4, "5m": 3e5, "15m": 9e5, "30m": 18e5, "1h": 36e5, "3h": 108e5, "6h": 216e5, "12h": 432e5,
                      "1d": 864e5, "1w": 6048e5, "1mo": 31 * 864e5 };
  function zoomTo(start, interval) {
    form.elements.range.value = "custom";
    form.elements.from.value = format.localInput(start);
    form.elements.to.value = format.localInput(start + BUCKET_MS[interval]);
    toggleCustom();
    remember();
    load(true);
  }

  async function load(reset) {
    try {
      if (reset) { tbody.replaceChildren(); shown.clear(); cursor = null; newest = null; closeDetail(); }
      const params = { ...filterParams(), ...rangeParams(), limit: PAGE, cursor: reset ? null : cursor };
      const [body] = await Promise.all([api("/api/v1/events", { params }), reset ? count() : null]);
      body.events.forEach((event) => row(event, "bottom"));
      cursor = body.next_cursor;
      moreButton.hidden = !cursor;
      document.getElementById("no-events").hidden = shown.size > 0;
      showError(errorBox, null);
      document.body.dataset.loadedAt = String(Date.now());
    } catch (error) {
      showError(errorBox, error);
    }
  }

  // Live tail: when the feed says events of a matching name arrived, fetch what is newer than shown.
  const nameFilter = () => {
    const glob = form.elements.name.value.trim();
    if (!glob) return () => true;
    const pattern = format.globPattern(glob);
    return (name) => pattern.test(name);
  };
  let tailTimer = null;
  async function tail() {
    tailTimer = null;
    const since = newest ? new Date(new Date(newest).getTime() - TAIL_LOOKBACK_MS).toISOString() : null;
    const params = { ...filterParams(), ...(since ? { from: since, to: "now" } : rangeParams()), limit: PAGE };
    try {
      const body = await api("/api/v1/events", { params });
      const fresh = body.events.filter((event) => !shown.has(event.id)).reverse();
      fresh.forEach((event) => row(event, "top"));
      if (fresh.length) {
        document.getElementById("no-events").hidden = true;
        count().catch(() => {}); // the total is a nicety; the rows are what matter
      }
      document.body.dataset.tailedAt = String(Date.now());
    } catch (error) {
      showError(errorBox, error);
    }
  }
  connectSocket(`/ws/p/${page.project.slug}/live/`, {
    onMessage(message) {
      const payload = message.payload || {};
      if (message.type !== "message" || payload.kind !== "data" || !liveBox.checked || !isFollowingNow()) return;
      if ((payload.events || []).some(nameFilter()) && !tailTimer) tailTimer = setTimeout(tail, 300);
    },
  });

  async function showDetail(id) {
    try {
      const event = await api(`/api/v1/events/${id}`);
      document.getElementById("detail-title").textContent = event.name;
      const fields = document.getElementById("detail-fields");
      fields.replaceChildren();
      for (const key of ["id", "timestamp", "received_at", "user_id", "session_id", "value", "environment", "service", "host", "request_id"]) {
        if (event[key] === null || event[key] === undefined) continue;
        const term = document.createElement("dt");
        term.textContent = key;
        const detail = document.createElement("dd");
        detail.textContent = key.endsWith("_at") || key === "timestamp" ? `${format.time(event[key])} (${event[key]})` : event[key];
        fields.append(term, detail);
      }
      const tagsTerm = document.createElement("dt");
      tagsTerm.textContent = "tags";
      const tagsDetail = document.createElement("dd");
      tagChips(tagsDetail, event.tags);
      fields.append(tagsTerm, tagsDetail);
      document.getElementById("detail-properties").textContent = JSON.stringify(event.properties, null, 2);
      document.getElementById("detail").hidden = false;
      document.getElementById("explorer-body").classList.add("with-detail");
      for (const selected of tbody.querySelectorAll("tr.selected")) selected.classList.remove("selected");
      const tr = tbody.querySelector(`tr[data-id="${id}"]`);
      if (tr) tr.classList.add("selected");
    } catch (error) {
      showError(errorBox, error);
    }
  }
  function closeDetail() {
    document.getElementById("detail").hidden = true;
    document.getElementById("explorer-body").classList.remove("with-detail");
  }

  function remember() {
    const params = new URLSearchParams();
    for (const field of FIELDS) {
      if (form.elements[field].value) params.set(field, form.elements[field].value);
    }
    window.history.replaceState(null, "", `?${params}`);
  }
  function restore() {
    const params = new URLSearchParams(window.location.search);
    for (const field of FIELDS) {
      if (params.has(field)) form.elements[field].value = params.get(field);
    }
    if (params.has("event")) showDetail(params.get("event"));
  }
  function toggleCustom() {
    for (const label of form.querySelectorAll(".custom")) label.hidden = form.elements.range.value !== "custom";
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); remember(); load(true); });
  form.elements.range.addEventListener("change", () => {
    toggleCustom();
    if (form.elements.range.value !== "custom") { remember(); load(true); }
  });
  moreButton.addEventListener("click", () => load(false));
  tbody.addEventListener("click", (event) => { const tr = event.target.closest("tr"); if (tr) showDetail(tr.dataset.id); });
  tbody.addEventListener("keydown", (event) => {
    const tr = event.target.closest("tr");
    if (tr && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); showDetail(tr.dataset.id); }
  });
  document.getElementById("close-detail").addEventListener("click", closeDetail);
  api("/api/v1/events/names", { params: { period: "last_30d" } }).then((body) => {
    const list = document.getElementById("event-names");
    for (const entry of body.names) { const option = document.createElement("option"); option.value = entry.name; list.append(option); }
  }).catch(() => {}); // suggestions only

  // Saved views: the filters and range under a name, shared by the project (GET/POST /api/v1/events/views).
  const viewSelect = document.getElementById("saved-views");
  let views = [];
  async function loadViews() {
    views = (await api("/api/v1/events/views")).views;
    viewSelect.replaceChildren(new Option("Saved views…", ""), ...views.map((view) => new Option(view.name, String(view.id))));
  }
  viewSelect.addEventListener("change", () => {
    const view = views.find((item) => String(item.id) === viewSelect.value);
    if (!view) return;
    for (const field of FIELDS) form.elements[field].value = view.params[field] || (field === "range" ? "last_24h" : "");
    toggleCustom();
    remember();
    load(true);
  });
  const saveForm = document.getElementById("save-view");
  if (saveForm) {
    saveForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const params = Object.fromEntries(FIELDS.map((field) => [field, form.elements[field].value]).filter(([, value]) => value));
      try {
        const saved = await api("/api/v1/events/views", { method: "POST", body: { name: saveForm.elements.view_name.value, params } });
        saveForm.reset();
        await loadViews();
        viewSelect.value = String(saved.id);
        showError(errorBox, null);
      } catch (error) {
        showError(errorBox, error);
      }
    });
    document.getElementById("delete-view").addEventListener("click", async () => {
      const view = views.find((item) => String(item.id) === viewSelect.value);
      if (!view || !window.confirm(`Delete the saved view "${view.name}"?`)) return;
      await api(`/api/v1/events/views/${view.id}`, { method: "DELETE" }).catch((error) => showError(errorBox, error));
      await loadViews();
    });
  }
  loadViews().catch((error) => showError(errorBox, error));

  restore();
  toggleCustom();
  load(true);
  window.FluxEvents = { queryParams: () => ({ ...filterParams(), ...rangeParams() }) }; // static/js/exports.js
})();
