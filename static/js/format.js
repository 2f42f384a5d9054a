// Numbers and times formatted for people, shared by the overview and explorer pages.
(function () {
  "use strict";
  const zone = () => (window.Flux && window.Flux.page && window.Flux.page.project.timezone) || undefined;

  function number(value, decimals) {
    if (value === null || value === undefined) return "–";
    const digits = decimals ?? (Number.isInteger(value) || Math.abs(value) >= 100 ? 0 : 2);
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
  }

  // {text, direction} for a percent change; null percent means there was nothing to compare with.
  function change(percent, current) {
    if (percent === null || percent === undefined) {
      return { text: current ? "new vs previous" : "", direction: "" };
    }
    const arrow = percent > 0 ? "▲" : percent < 0 ? "▼" : "";
    return { text: `${arrow} ${Math.abs(percent).toFixed(1)}% vs previous`.trim(),
             direction: percent > 0 ? "up" : percent < 0 ? "down" : "" };
  }

  function time(iso) {
    if (!iso) return "–";
    return new Date(iso).toLocaleString(undefined, { timeZone: zone(), dateStyle: "medium", timeStyle: "medium" });
  }

  // The same, naming the zone ("11:00:00 AM GMT+1"): for times read beside notifications, which say UTC.
  function zonedTime(iso) {
    if (!iso) return "–";
    return new Date(iso).toLocaleString(undefined, { timeZone: zone(), year: "numeric", month: "short", day: "numeric",
      hour: "numeric", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
  }

  // When a series' mute ends: the API gives one far-off instant for every mute "for good" (MUTED_FOREVER).
  const MUTED_FOREVER = Date.UTC(9999, 0, 1);
  function muteEnd(iso, show = time) {
    return new Date(iso).getTime() >= MUTED_FOREVER ? "further notice" : show(iso);
  }

  // An instant as a datetime-local input's value (to the second) in the project's zone.
  function localInput(ms, timeZone = zone()) {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(ms));
    const part = Object.fromEntries(parts.map((item) => [item.type, item.value]));
    return `${part.year}-${part.month}-${part.day}T${part.hour}:${part.minute}:${part.second}`;
  }

  function ago(iso, now = Date.now()) {
    if (!iso) return "never";
    const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
    if (seconds < 60) return `${seconds} s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return `${Math.floor(seconds / 86400)} d ago`;
  }

  // An event-name glob (* and ?) as an anchored RegExp (case-sensitive unless flags say "i").
  function globPattern(glob, flags = "") {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp(`^${body}$`, flags);
  }

  // Tag values folded by the cardinality limits are stored as "__other__" (README, "Cardinality limits").
  function tagValue(value) {
    return value === "__other__" ? "other (over the limit)" : value;
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function link(href, text) {
    const anchor = document.createElement("a");
    anchor.href = href;
    anchor.textContent = text;
    return anchor;
  }

  window.Flux = Object.assign(window.Flux || {}, { format: { number, change, time, zonedTime, muteEnd, ago, cell, link, globPattern, tagValue, localInput } });
})();
