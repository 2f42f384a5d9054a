// Calls Flux's REST API from its own pages: the session cookie, the CSRF token and the project header.
(function () {
  "use strict";
  const page = JSON.parse(document.getElementById("page-data").textContent);

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function api(path, options = {}) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(options.params || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.append(key, value);
    }
    const headers = { "X-Flux-Project": page.project.slug, Accept: "application/json" };
    const init = { method: options.method || "GET", headers, credentials: "same-origin" };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = csrfToken();
      init.body = JSON.stringify(options.body);
    } else if (init.method !== "GET") {
      headers["X-CSRFToken"] = csrfToken();
    }
    const response = await fetch(url, init);
    if (response.status === 204) return null;
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((body.error && body.error.message) || `HTTP ${response.status}`);
      error.details = body.error && body.error.details;
      error.status = response.status;
      throw error;
    }
    return body;
  }

  // The API's message, and what it says of each field ("target: must be an http:// or https:// URL"):
  // "The request is not valid." alone did not say what to change.
  function describeError(error) {
    const details = error.details && typeof error.details === "object" && !Array.isArray(error.details)
      ? Object.entries(error.details).map(([field, problems]) => `${field}: ${[].concat(problems).join(" ")}`) : [];
    if (!details.length) return error.message;
    return error.message === "The request is not valid." ? details.join("; ") : `${error.message} (${details.join("; ")})`;
  }

  function showError(element, error) {
    element.textContent = error ? describeError(error) : "";
    element.hidden = !error;
  }

  window.Flux = { api, page, showError };
})();
