// Dashboard variables: one dropdown per tag (a select for one value, a list of checkboxes for several),
// filled from the values the data snapshot lists; the choice lives in the address as var[<tag>]=a,b.
(function () {
  "use strict";

  function create({ container, dashboard, canEdit, onChange, onDefine }) {
    const query = new URLSearchParams(window.location.search);
    const chosen = new Map(); // tag -> array of values (empty: all)
    let variables = (dashboard.settings && dashboard.settings.variables) || [];

    function fromAddress() {
      for (const variable of variables) {
        const raw = query.get(`var[${variable.tag}]`);
        const values = raw === null ? variable.selected : raw.split(",").map((value) => value.trim()).filter(Boolean);
        chosen.set(variable.tag, variable.multi ? values : values.slice(0, 1));
      }
    }

    function summary(tag) {
      const values = chosen.get(tag) || [];
      return values.length ? values.join(", ") : "all";
    }

    function single(variable) {
      const label = document.createElement("label");
      label.textContent = `${variable.tag} `;
      const select = document.createElement("select");
      select.dataset.variable = variable.tag;
      select.add(new Option("all", ""));
      for (const value of chosen.get(variable.tag) || []) select.add(new Option(value, value));
      select.value = (chosen.get(variable.tag) || [""])[0] || "";
      select.addEventListener("change", () => { chosen.set(variable.tag, select.value ? [select.value] : []); onChange(); });
      label.append(select);
      return label;
    }

    function multiple(variable) {
      const box = document.createElement("details");
      box.className = "variable";
      box.dataset.variable = variable.tag;
      const head = document.createElement("summary");
      head.textContent = `${variable.tag}: ${summary(variable.tag)}`;
      const list = document.createElement("fieldset");
      const legend = document.createElement("legend");
      legend.className = "visually-hidden";
      legend.textContent = `Values of ${variable.tag}`;
      list.append(legend);
      list.addEventListener("change", () => {
        chosen.set(variable.tag, [...list.querySelectorAll("input:checked")].map((input) => input.value));
        head.textContent = `${variable.tag}: ${summary(variable.tag)}`;
        onChange();
      });
      box.append(head, list);
      return box;
    }

    function removeButton(variable) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = "×";
      button.setAttribute("aria-label", `Remove the variable ${variable.tag}`);
      button.addEventListener("click", () => onDefine(variables.filter((item) => item.tag !== variable.tag)));
      return button;
    }

    function draw() {
      container.replaceChildren();
      for (const variable of variables) {
        const item = document.createElement("span");
        item.className = "variable-item";
        item.append(variable.multi ? multiple(variable) : single(variable));
        if (canEdit) item.append(removeButton(variable));
        container.append(item);
      }
    }

    // The snapshot's options (and what the server applied) fill the dropdowns; the choice stays as it is.
    function update(found) {
      for (const variable of variables) {
        const options = (found[variable.tag] && found[variable.tag].options) || [];
        const values = [...new Set([...options, ...(chosen.get(variable.tag) || [])])].sort();
        const select = container.querySelector(`select[data-variable="${CSS.escape(variable.tag)}"]`);
        if (select) {
          const current = select.value;
          select.replaceChildren(new Option("all", ""), ...values.map((value) => new Option(value, value)));
          select.value = current;
          continue;
        }
        const list = container.querySelector(`details[data-variable="${CSS.escape(variable.tag)}"] fieldset`);
        if (!list) continue;
        list.querySelectorAll("label").forEach((label) => label.remove());
        for (const value of values) {
          const label = document.createElement("label");
          const input = document.createElement("input");
          input.type = "checkbox";
          input.value = value;
          input.checked = (chosen.get(variable.tag) || []).includes(value);
          label.append(input, ` ${value}`);
          list.append(label);
        }
      }
    }

    // `var[tag]` for every variable: "," (an empty list) says "all" even when the saved choice is not.
    function params() {
      const found = {};
      for (const variable of variables) found[`var[${variable.tag}]`] = (chosen.get(variable.tag) || []).join(",") || ",";
      return found;
    }

    function redefine(next) {
      variables = next;
      for (const tag of [...chosen.keys()]) if (!variables.some((variable) => variable.tag === tag)) chosen.delete(tag);
      for (const variable of variables) if (!chosen.has(variable.tag)) chosen.set(variable.tag, variable.selected);
      draw();
    }

    // The variables with the current choice as their saved selection (what "Save view" stores).
    function asSaved() {
      return variables.map((variable) => ({ ...variable, selected: chosen.get(variable.tag) || [] }));
    }

    fromAddress();
    draw();
    return { params, update, redefine, asSaved, chosen };
  }

  window.FluxVariables = { create };
})();
