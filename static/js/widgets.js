// Draws widget data (the shapes of GET /api/v1/dashboards/{id}/data) with Apache ECharts.
(function () {
  "use strict";
  const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  const charts = new Map(); // widget id -> ECharts instance
  // Set by the dashboard page: zoom(fromMs, toMs) after a drag across a graph; drill(widget, {key, from,
  // interval}) after a click on a graph's point or a bar.
  const hooks = { zoom: null, drill: null, zone: null };
  const zrHandlers = new WeakMap(); // chart -> its drill-down handlers, replaced on each draw
  const drawnData = new WeakMap(); // chart -> the data it draws, to tell a click on a point from one beside
  const POINT_HIT_PIXELS = 24;

  function formatValue(value, display = {}) {
    if (value === null || value === undefined) return "–";
    const decimals = display.decimals ?? (Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : 2);
    let text;
    switch (display.format) {
      case "percent":
        text = `${(value * 100).toFixed(decimals)}%`;
        break;
      case "bytes": {
        const units = ["B", "KB", "MB", "GB", "TB"];
        let size = value;
        let unit = 0;
        while (Math.abs(size) >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
        text = `${size.toFixed(unit ? 1 : 0)} ${units[unit]}`;
        break;
      }
      case "duration":
        text = value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(decimals)} ms`;
        break;
      default:
        text = Number(value).toLocaleString(undefined, { maximumFractionDigits: decimals });
    }
    return display.unit && display.format !== "percent" ? `${text} ${display.unit}` : text;
  }

  function chartFor(widget, element) {
    let chart = charts.get(widget.id);
    if (chart && chart.getDom() !== element) { chart.dispose(); chart = null; }
    if (!chart) {
      chart = echarts.init(element, dark ? "dark" : null, { renderer: "canvas" });
      charts.set(widget.id, chart);
    }
    return chart;
  }

  // Graphs read time in the dashboard's zone (hooks.zone: its Timezone control), else the project's: ECharts
  // would write the browser's, so a Tokyo dashboard opened in New York showed yesterday's 10:00 for today's 00:00.
  function zone() {
    const page = window.Flux && window.Flux.page;
    return (hooks.zone && hooks.zone()) || (page && page.project && page.project.timezone) || undefined;
  }

  function zonedParts(ms) {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone(), hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit" }).formatToParts(new Date(ms));
    return Object.fromEntries(parts.map((item) => [item.type, item.value]));
  }

  function axisTime(ms) {
    const part = zonedParts(ms);
    return part.hour === "00" && part.minute === "00" ? `${part.month}-${part.day}` : `${part.hour}:${part.minute}`;
  }

  function escaped(text) {
    return String(text).replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
  }

  function timeTooltip(display) {
    return (items) => {
      const list = Array.isArray(items) ? items : [items];
      if (!list.length) return "";
      const part = zonedParts(list[0].value[0]);
      const lines = list.map((item) => `${item.marker}${escaped(item.seriesName)}: ${escaped(formatValue(item.value[1], display))}`);
      return [`${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`, ...lines].join("<br>");
    };
  }

  function baseOption(widget) {
    const option = { backgroundColor: "transparent", animation: false,
                     grid: { left: 48, right: 16, top: 24, bottom: 28 }, tooltip: { trigger: "axis" } };
    const colors = widget.display && widget.display.colors;
    if (colors && colors.length) option.color = colors; // otherwise the theme's palette
    return option;
  }

  function renderNumber(widget, data, body) {
    const display = widget.display || {};
    const change = data.change_percent;
    let color = "";
    for (const threshold of display.thresholds || []) if (data.value !== null && data.value >= threshold.value) color = threshold.color;
    body.innerHTML = `<div class="number"><span class="value"></span><span class="change"></span></div><div class="sparkline"></div>`;
    const value = body.querySelector(".value");
    value.textContent = formatValue(data.value, display);
    if (color) value.style.color = color;
    const changeText = body.querySelector(".change");
    if (change !== null && change !== undefined) {
      changeText.textContent = `${change >= 0 ? "▲" : "▼"} ${Math.abs(change).toFixed(1)}% vs previous`;
      changeText.className = `change ${change >= 0 ? "up" : "down"}`;
    } else if (data.value && !data.previous) {
      changeText.textContent = "new vs previous";
    } else if (data.change) {
      // The previous period was too small a base for a percentage (flux/query/compare.py): the absolute change.
      changeText.textContent = `${data.change > 0 ? "▲ +" : "▼ −"}${formatValue(Math.abs(data.change), display)} vs ${formatValue(data.previous, display)} before`;
      changeText.className = `change ${data.change > 0 ? "up" : "down"}`;
    } else {
      changeText.textContent = "";
    }
    const chart = chartFor(widget, body.querySelector(".sparkline"));
    chart.setOption({ ...baseOption(widget), grid: { left: 0, right: 0, top: 4, bottom: 0 }, tooltip: { show: false },
      xAxis: { type: "time", show: false }, yAxis: { type: "value", show: false },
      series: [{ type: "line", data: data.sparkline, showSymbol: false, areaStyle: { opacity: 0.15 } }] }, true);
  }

  function alone(points, index) {
    const known = (at) => at >= 0 && at < points.length && points[at][1] !== null && points[at][1] !== undefined;
    return known(index) && !known(index - 1) && !known(index + 1);
  }

  function renderGraph(widget, data, body) {
    const display = widget.display || {};
    const style = display.style || "line";
    const series = data.series.map((item) => ({
      name: item.key === null ? (widget.title || "value") : String(item.key),
      type: style === "bars" ? "bar" : "line",
      stack: display.stacked ? "total" : undefined,
      areaStyle: style === "area" ? { opacity: 0.25 } : undefined,
      // A gap stays a gap; a value alone between gaps (a gauge reported now and then) is drawn as a dot,
      // where a line without symbols drew nothing at all.
      connectNulls: false,
      showSymbol: true,
      symbolSize: (value, params) => (alone(item.points, params.dataIndex) ? 5 : 0),
      data: item.points,
    }));
    // Anomalies of the series this graph reads, shaded over their stretch (red critical, amber otherwise).
    const marks = (data.anomalies || []).map((mark) => [
      { xAxis: mark.from, name: `${mark.kind.replace("_", " ")} (${mark.severity})`,
        itemStyle: { color: mark.severity === "critical" ? "rgba(201, 42, 42, 0.16)" : "rgba(250, 176, 5, 0.2)" } },
      { xAxis: mark.to },
    ]);
    if (series.length && marks.length) series[0].markArea = { silent: false, label: { show: false }, data: marks };
    // The previous period, moved onto this one by the server: dashed and faded under the current lines.
    for (const item of data.previous || []) {
      series.push({ name: `${item.key === null ? (widget.title || "value") : String(item.key)} (previous period)`,
        type: "line", showSymbol: false, connectNulls: false, data: item.points, z: 1,
        lineStyle: { type: "dashed", opacity: 0.6 }, itemStyle: { opacity: 0.6 } });
    }
    body.innerHTML = '<div class="chart"></div>';
    body.dataset.anomalies = String(marks.length);
    const chart = chartFor(widget, body.firstChild);
    chart.setOption({ ...baseOption(widget),
      legend: series.length > 1 ? { type: "scroll", top: 0 } : undefined,
      tooltip: { trigger: "axis", formatter: timeTooltip(display) },
      xAxis: { type: "time", axisLabel: { formatter: axisTime, hideOverlap: true } },
      yAxis: { type: "value", axisLabel: { formatter: (v) => formatValue(v, { ...display, unit: "" }) } },
      series }, true);
    if (window.FluxAnnotations) window.FluxAnnotations.decorate(chart); // static/js/annotations.js
    if (body.closest("#grid")) zoomAndDrill(widget, data, chart);
  }

  // On the dashboard (not in the editor's preview): drag across a graph to zoom every widget to that stretch,
  // click to drill into the nearest series' events in that bucket.
  function zoomAndDrill(widget, data, chart) {
    chart.setOption({ brush: { xAxisIndex: 0, brushType: "lineX", brushMode: "single", transformable: false,
                               brushStyle: { color: "rgba(59, 91, 219, 0.15)" } }, toolbox: { show: false } });
    chart.dispatchAction({ type: "takeGlobalCursor", key: "brush", brushOption: { brushType: "lineX", brushMode: "single" } });
    chart.off("brushEnd");
    chart.on("brushEnd", (event) => {
      const area = event.areas && event.areas[0];
      chart.dispatchAction({ type: "brush", areas: [] });
      if (area && area.coordRange[1] - area.coordRange[0] > 0 && hooks.zoom) hooks.zoom(area.coordRange[0], area.coordRange[1]);
    });
    // Only our own handlers are replaced: the brush listens on the same zrender events.
    const zr = chart.getZr();
    const previous = zrHandlers.get(chart);
    if (previous) for (const [name, handler] of Object.entries(previous)) zr.off(name, handler);
    let downAt = null;
    const handlers = {
      mousedown: (event) => { downAt = event.offsetX; },
      // A press and release, not zrender's "click": zrender drops a click whose press and release found
      // different elements under the pointer, as when the point's hover highlight is painted in between.
      mouseup: (event) => {
        const pressedAt = downAt;
        downAt = null;
        if (pressedAt === null || Math.abs(event.offsetX - pressedAt) > 4 || !hooks.drill) return; // a drag
        const nearest = pointAt(chart, event.offsetX, event.offsetY);
        if (nearest) hooks.drill(widget, { key: nearest.key, from: nearest.time, interval: data.interval });
      },
    };
    for (const [name, handler] of Object.entries(handlers)) zr.on(name, handler);
    zrHandlers.set(chart, handlers);
    drawnData.set(chart, data);
  }

  // The point a click at (x, y) is on, if any: a click near a drawn point drills into it, a click on empty
  // plot area is left to annotations.js (which adds an annotation there).
  function pointAt(chart, x, y) {
    const data = drawnData.get(chart);
    if (!data) return null;
    const nearest = nearestPoint(chart, data, chart.convertFromPixel({ xAxisIndex: 0 }, x), y);
    return nearest && nearest.distance <= POINT_HIT_PIXELS ? nearest : null;
  }

  // The point drawn nearest the click: the bucket closest in time, then the series closest in height.
  function nearestPoint(chart, data, at, y) {
    let best = null;
    data.series.forEach((series, index) => {
      let point = null;
      for (const item of series.points) {
        if (!point || Math.abs(new Date(item[0]).getTime() - at) < Math.abs(new Date(point[0]).getTime() - at)) point = item;
      }
      if (!point || point[1] === null) return;
      const pixel = chart.convertToPixel({ seriesIndex: index }, [point[0], point[1]]);
      const distance = pixel ? Math.abs(pixel[1] - y) : Infinity;
      if (!best || distance < best.distance) best = { key: series.key, time: point[0], distance };
    });
    return best;
  }

  // `__other__` is the server's overflow group: everything beyond the widget's group limit.
  function groupName(key) { return key === null ? "(none)" : key === "__other__" ? "Other" : String(key); }

  function renderBar(widget, data, body) {
    body.innerHTML = '<div class="chart"></div>';
    const chart = chartFor(widget, body.firstChild);
    chart.setOption({ ...baseOption(widget), tooltip: { trigger: "item" },
      xAxis: { type: "category", data: data.groups.map((group) => groupName(group.key)) },
      yAxis: { type: "value" },
      series: [{ type: "bar", data: data.groups.map((group) => group.value), colorBy: "data" }] }, true);
    chart.off("click");
    if (body.closest("#grid")) {
      chart.on("click", (event) => {
        const group = data.groups[event.dataIndex];
        if (group && group.key !== "__other__" && hooks.drill) hooks.drill(widget, { key: group.key });
      });
    }
  }

  function renderPie(widget, data, body) {
    body.innerHTML = '<div class="chart"></div>';
    const donut = widget.display && widget.display.donut;
    chartFor(widget, body.firstChild).setOption({ ...baseOption(widget), tooltip: { trigger: "item" },
      legend: { type: "scroll", bottom: 0 },
      series: [{ type: "pie", radius: donut ? ["40%", "70%"] : "70%",
                 data: data.groups.map((group) => ({ name: groupName(group.key), value: group.value })) }] }, true);
  }

  function renderTable(widget, data, body) {
    const table = document.createElement("table");
    table.className = "widget-table";
    // A share of the total only means something when the groups add up to it (counts, sums).
    const total = data.additive ? data.total || 0 : 0;
    table.innerHTML = `<thead><tr><th>#</th><th>Key</th><th>Value</th>${data.additive ? "<th>Share</th>" : ""}</tr></thead><tbody></tbody>`;
    data.groups.forEach((group, index) => {
      const row = table.tBodies[0].insertRow();
      const cells = [index + 1, groupName(group.key), formatValue(group.value, widget.display)];
      if (data.additive) cells.push(total && typeof group.value === "number" ? `${((group.value / total) * 100).toFixed(1)}%` : "");
      for (const text of cells) row.insertCell().textContent = text;
    });
    body.replaceChildren(table);
  }

  function renderHeatmap(widget, data, body) {
    body.innerHTML = '<div class="chart"></div>';
    const values = data.cells.map((cell) => cell[2]);
    const visualMap = { min: 0, max: Math.max(1, ...values), calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 80 };
    let option;
    if (data.mode === "time_value") {
      const times = [...new Set(data.cells.map((cell) => cell[0]))];
      option = { xAxis: { type: "category", data: times.map((time) => time.slice(5, 16).replace("T", " ")) },
                 yAxis: { type: "category", data: data.bins.map((bin) => formatValue(bin, widget.display)) },
                 series: [{ type: "heatmap", data: data.cells.map((cell) => [times.indexOf(cell[0]), cell[1], cell[2]]) }] };
    } else {
      option = { xAxis: { type: "category", data: [...Array(24).keys()].map((hour) => `${hour}h`) },
                 yAxis: { type: "category", data: DAYS, inverse: true },
                 series: [{ type: "heatmap", data: data.cells.map((cell) => [cell[1], cell[0], cell[2]]) }] };
    }
    chartFor(widget, body.firstChild).setOption({ ...baseOption(widget), tooltip: { position: "top" },
      grid: { left: 48, right: 16, top: 8, bottom: 56 }, visualMap, ...option }, true);
  }

  const RENDERERS = { number: renderNumber, graph: renderGraph, bar: renderBar, pie: renderPie, table: renderTable, heatmap: renderHeatmap };

  function nothingToShow(widget, data) {
    if (data.empty) return data.message;
    const none = (widget.type === "graph" && data.series.length === 0)
      || (["bar", "pie", "table"].includes(widget.type) && data.groups.length === 0)
      || (widget.type === "heatmap" && data.cells.length === 0);
    return none ? "No data in this range" : null;
  }

  function render(widget, data, body) {
    const message = nothingToShow(widget, data);
    body.classList.toggle("empty", Boolean(message));
    if (message) {
      forget(widget.id);
      body.textContent = message;
      return;
    }
    RENDERERS[widget.type](widget, data, body);
  }

  function resize(widgetId) {
    const chart = charts.get(widgetId);
    if (chart) chart.resize();
  }

  function forget(widgetId) {
    const chart = charts.get(widgetId);
    if (chart) chart.dispose();
    charts.delete(widgetId);
  }

  window.FluxWidgets = { render, resize, forget, formatValue, hooks, pointAt };
})();
