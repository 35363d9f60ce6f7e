// The one way pages talk to the API: JSON in and out, the CSRF token on unsafe requests, and the
// API's {"message", "extra"} errors as an ApiError whose field messages can sit next to the field.

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** An error response of the API: `message` for people, `fields` maps a field name to its text. */
export class ApiError extends Error {
  constructor(message, { status = 0, extra = {} } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.extra = extra;
    this.fields = fieldMessages(extra.fields);
  }
}

// DRF nests errors the way the input nests ({"features": {"shape": ["…"]}}); the form's controls
// carry the innermost names, so flatten to those, keeping the outer name for a list at the top.
const fieldMessages = (fields, into = {}) => {
  if (!fields || typeof fields !== "object") return into;
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value) && value.every((item) => typeof item === "string")) {
      into[name] = value.join(" ");
    } else if (Array.isArray(value)) {
      value.forEach((item) => fieldMessages(item, into));
    } else if (value && typeof value === "object") {
      fieldMessages(value, into);
    } else {
      into[name] = String(value);
    }
  }
  return into;
};

// Django sets the csrftoken cookie on any page that renders {% csrf_token %}; the hidden input is
// the fallback for a deployment that makes the cookie HttpOnly.
const csrfToken = () => {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  return document.querySelector("[name=csrfmiddlewaretoken]")?.value ?? "";
};

/**
 * Send a request; resolve to the parsed JSON body, or reject with an ApiError for an error
 * response. A network failure rejects with fetch's own TypeError, so callers can tell "the server
 * said no" (do not retry) from "the server was not reached" (retry).
 * `json` is sent as JSON; `body` (FormData) goes as it is.
 */
export async function request(url, { method = "GET", json, body, headers = {} } = {}) {
  const upper = method.toUpperCase();
  const sent = { Accept: "application/json", ...headers };
  if (!SAFE_METHODS.has(upper)) sent["X-CSRFToken"] = csrfToken();
  if (json !== undefined) {
    sent["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(url, { method: upper, credentials: "same-origin", headers: sent, body });
  const isJson = (response.headers.get("Content-Type") || "").includes("json");
  const data = isJson ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    throw new ApiError(data?.message || `The server answered HTTP ${response.status}.`, {
      status: response.status,
      extra: data?.extra || {},
    });
  }
  return data;
}

export const getJson = (url) => request(url);
export const postJson = (url, json) => request(url, { method: "POST", json });

/**
 * A URL whose id the page learns only at run time. The template renders it with {% url %} and 0
 * for the id (so the path is the server's own); this puts the real id in that last segment.
 */
export const withId = (template, id) => {
  const filled = template.replace(/\/0\/(?=[^/]*$)/, `/${encodeURIComponent(id)}/`);
  if (filled === template) throw new Error(`No id placeholder in ${template}`);
  return filled;
};

/** Remove the messages a previous showErrors put into this form. */
export const clearErrors = (form) => {
  form.querySelectorAll(".field-error").forEach((element) => element.remove());
  form.querySelectorAll("[aria-invalid]").forEach((element) => element.removeAttribute("aria-invalid"));
};

/**
 * Show an error: each field message right after its control in `form`, the rest (the overall
 * message, and messages for fields the form does not have) in `messageElement`.
 */
export const showErrors = (form, error, messageElement) => {
  if (form) clearErrors(form);
  const leftOver = [];
  for (const [name, text] of Object.entries(error.fields || {})) {
    const controls = form ? form.querySelectorAll(`[name="${CSS.escape(name)}"]`) : [];
    if (!controls.length) { leftOver.push(name === "non_field_errors" ? text : `${name}: ${text}`); continue; }
    controls.forEach((control) => control.setAttribute("aria-invalid", "true"));
    const last = controls[controls.length - 1];
    const anchor = last.closest("label") || last;
    const note = document.createElement("span");
    note.className = "field-error error";
    note.textContent = text;
    anchor.after(note);
  }
  if (messageElement) {
    messageElement.textContent = [error.message, ...leftOver].filter(Boolean).join(" ");
    messageElement.hidden = !messageElement.textContent;
  }
};
