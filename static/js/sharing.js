// The dashboard's share links: create one (shown once), list them, revoke them.
(function () {
  "use strict";
  const panel = document.getElementById("share-panel");
  if (!panel || !window.FluxDashboard) return;
  const { api, showError } = window.Flux;
  const base = `/api/v1/dashboards/${window.FluxDashboard.dashboard.id}/shares`;
  const body = panel.querySelector("#share-links tbody");
  const errorBox = document.getElementById("share-error");
  const form = document.getElementById("new-share");
  const when = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "never");

  async function load() {
    const { links } = await api(base);
    body.replaceChildren();
    for (const link of links) {
      const row = body.insertRow();
      row.dataset.id = link.id;
      const expired = link.expires_at && new Date(link.expires_at) < new Date();
      for (const text of [`${link.prefix}…`, when(link.created_at), when(link.expires_at),
        link.revoked_at ? "revoked" : expired ? "expired" : "live"]) row.insertCell().textContent = text;
      const actions = row.insertCell();
      if (!link.revoked_at && !expired) {
        const revoke = document.createElement("button");
        revoke.type = "button";
        revoke.className = "link danger";
        revoke.dataset.action = "revoke-share";
        revoke.textContent = "Revoke";
        actions.append(revoke);
      }
    }
  }

  async function guarded(work) {
    try { await work(); showError(errorBox, null); } catch (error) { showError(errorBox, error); }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const days = form.elements.expires_in_days.value;
      const issued = await api(base, { method: "POST", body: { expires_in_days: days ? Number(days) : null } });
      const link = document.getElementById("share-url");
      link.href = issued.url;
      link.textContent = issued.url;
      document.getElementById("share-created").hidden = false;
      await load();
    });
  });

  body.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action=revoke-share]");
    if (!button || !window.confirm("Revoke this link? Anyone using it loses access.")) return;
    guarded(async () => {
      await api(`${base}/${button.closest("tr").dataset.id}`, { method: "DELETE" });
      await load();
    });
  });

  panel.addEventListener("toggle", () => { if (panel.open) guarded(load); });
})();
