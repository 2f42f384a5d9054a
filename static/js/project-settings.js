// Project settings: API keys (create, copy once, revoke) and members (add, change role, remove).
// Everyone in the project sees both lists; only owners get the forms and buttons (the API enforces it too).
(function () {
  "use strict";
  const { api, page, showError, format } = window.Flux;
  const errorBox = document.getElementById("access-error");
  const keysBody = document.querySelector("#keys tbody");
  const membersBody = document.querySelector("#members tbody");

  async function guarded(work) {
    try { await work(); showError(errorBox, null); } catch (error) { showError(errorBox, error); }
  }

  function button(text, action, id, label) {
    const element = document.createElement("button");
    element.type = "button";
    element.className = "link";
    element.textContent = text;
    element.dataset.action = action;
    element.dataset.id = id;
    element.setAttribute("aria-label", label);
    return element;
  }

  async function loadKeys() {
    const { keys } = await api("/api/v1/project/keys");
    keysBody.replaceChildren();
    for (const key of keys) {
      const tr = keysBody.insertRow();
      tr.dataset.id = key.id;
      format.cell(tr, key.name || "(no name)");
      format.cell(tr, key.kind);
      format.cell(tr, `${key.prefix}…`);
      format.cell(tr, format.time(key.created_at));
      format.cell(tr, key.last_used_at ? format.ago(key.last_used_at) : "never");
      format.cell(tr, key.revoked_at ? `revoked ${format.time(key.revoked_at)}` : "live", key.revoked_at ? "muted" : "");
      const actions = tr.insertCell();
      if (page.can_manage && !key.revoked_at) actions.append(button("Revoke", "revoke", key.id, `Revoke ${key.name}`));
    }
  }

  function roleSelect(member) {
    const select = document.createElement("select");
    for (const role of page.choices.roles) select.add(new Option(role, role));
    select.value = member.role;
    select.dataset.id = member.id;
    select.setAttribute("aria-label", `Role of ${member.username}`);
    return select;
  }

  async function loadMembers() {
    const { members } = await api("/api/v1/project/members");
    membersBody.replaceChildren();
    for (const member of members) {
      const tr = membersBody.insertRow();
      tr.dataset.id = member.id;
      format.cell(tr, member.username);
      format.cell(tr, member.email);
      if (page.can_manage) tr.insertCell().append(roleSelect(member));
      else format.cell(tr, member.role);
      const actions = tr.insertCell();
      if (page.can_manage) actions.append(button("Remove", "remove", member.id, `Remove ${member.username}`));
    }
  }

  keysBody.addEventListener("click", (event) => {
    const target = event.target.closest("button[data-action=revoke]");
    if (!target || !window.confirm("Revoke this key? Programs using it will be refused at once.")) return;
    guarded(async () => {
      await api(`/api/v1/project/keys/${target.dataset.id}`, { method: "DELETE" });
      await loadKeys();
    });
  });

  membersBody.addEventListener("click", (event) => {
    const target = event.target.closest("button[data-action=remove]");
    if (!target || !window.confirm("Remove this member from the project?")) return;
    guarded(async () => {
      await api(`/api/v1/project/members/${target.dataset.id}`, { method: "DELETE" });
      await loadMembers();
    });
  });

  membersBody.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-id]");
    if (!select) return;
    guarded(async () => {
      try {
        const member = await api(`/api/v1/project/members/${select.dataset.id}`,
          { method: "PATCH", body: { role: select.value } });
        document.getElementById("members-status").textContent = `${member.username} is now ${member.role}.`;
      } finally {
        await loadMembers();
      }
    });
  });

  const keyForm = document.getElementById("new-key");
  if (keyForm) {
    keyForm.addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(async () => {
        const issued = await api("/api/v1/project/keys", { method: "POST",
          body: { name: keyForm.elements.name.value, kind: keyForm.elements.kind.value } });
        document.getElementById("issued-key-value").textContent = issued.key;
        document.getElementById("copy-status").textContent = "";
        document.getElementById("issued-key").hidden = false;
        keyForm.reset();
        await loadKeys();
      });
    });
    document.getElementById("copy-key").addEventListener("click", async () => {
      const status = document.getElementById("copy-status");
      try {
        await navigator.clipboard.writeText(document.getElementById("issued-key-value").textContent);
        status.textContent = "Copied.";
      } catch (error) {
        status.textContent = "Select the key and copy it by hand.";
      }
    });
  }

  const memberForm = document.getElementById("new-member");
  if (memberForm) {
    memberForm.addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(async () => {
        await api("/api/v1/project/members", { method: "POST",
          body: { user: memberForm.elements.user.value.trim(), role: memberForm.elements.role.value } });
        memberForm.reset();
        await loadMembers();
      });
    });
  }

  guarded(() => Promise.all([loadKeys(), loadMembers()]));
})();
