// The top bar's project switcher: picking a project opens it (a script file, not an inline handler, so the
// Content-Security-Policy needs no 'unsafe-inline').
"use strict";
document.getElementById("project-switcher")?.addEventListener("change", (event) => event.target.form.submit());
