// The REST API of the gateway, called with the operator's session cookie and CSRF token.
// Every call the page makes goes through `api`, so every one is authorized by the session.

let csrfToken = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || "http_" + status;
    this.body = body;
  }
}

export function setCsrf(token) {
  csrfToken = token;
}

/** `fn()` runs when the session ends (401): the page shows the sign-in form again. */
export function onSignedOut(fn) {
  listeners.add(fn);
}

export async function api(method, path, { json, form, query } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let body;
  if (form) body = form;
  else if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let url = "/api/v1" + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, value);
    }
    const text = params.toString();
    if (text) url += (url.includes("?") ? "&" : "?") + text;
  }
  const response = await fetch(url, { method, headers, body, credentials: "same-origin" });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || {};
    if (response.status === 401 && !path.startsWith("/auth/sign-in")) listeners.forEach((fn) => fn());
    throw new ApiError(response.status, error.code, error.message, data);
  }
  return data;
}

export const get = (path, query) => api("GET", path, { query });

/** Every row of a list: its pages followed by `next_cursor` (every list pages, even short ones). */
export async function getAll(path, query = {}) {
  const rows = [];
  let cursor = null;
  do {
    const page = await get(path, { ...query, limit: 200, cursor });
    rows.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return rows;
}
export const post = (path, json) => api("POST", path, { json });
