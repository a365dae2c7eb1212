// UI building blocks: labelled fields, API errors next to the field they name, dialogs,
// toasts, busy buttons, status badges.

import { ApiError } from "./api.js";
import { h, nextId } from "./dom.js";
import { statusLabel } from "./format.js";

/**
 * A labelled form field. `name` is the API field path ("address.city", "lines[2].quantity");
 * it becomes data-field so API errors land next to it.
 */
export function field(opts) {
  const {
    label,
    name,
    type = "text",
    value = "",
    required = false,
    hint = "",
    options = null,
    placeholder = "",
    autocomplete = null,
    attrs = {},
    wide = false,
    rows = 3,
  } = opts;
  const id = nextId("f");
  const hintId = hint ? `${id}-hint` : null;
  const errId = `${id}-err`;
  let control;
  const common = {
    id,
    name,
    dataset: { field: name },
    required,
    "aria-describedby": [hintId, errId].filter(Boolean).join(" "),
    ...attrs,
  };
  if (options) {
    control = h("select", common);
    for (const opt of options) {
      const [val, text] = Array.isArray(opt) ? opt : [opt, opt];
      control.append(h("option", { value: val, text, selected: String(val) === String(value ?? "") }));
    }
  } else if (type === "textarea") {
    control = h("textarea", { ...common, rows, placeholder: placeholder || null });
    control.value = value ?? "";
  } else {
    control = h("input", {
      ...common,
      type,
      placeholder: placeholder || null,
      autocomplete,
    });
    if (type === "checkbox") control.checked = Boolean(value);
    else control.value = value ?? "";
  }
  const wrap = h(
    "div",
    { class: `field${wide ? " field-wide" : ""}${type === "checkbox" ? " field-check" : ""}` },
    type === "checkbox"
      ? h("label", { for: id }, control, " ", label)
      : [h("label", { for: id, class: required ? "is-required" : null }, label), control],
    hint ? h("p", { class: "hint", id: hintId, text: hint }) : null,
    h("p", { class: "field-error", id: errId, role: "alert", hidden: true }),
  );
  wrap.control = control;
  return wrap;
}

/** A titled group of fields laid out in a responsive grid. */
export function fieldset(legend, fields, description = "") {
  return h(
    "fieldset",
    { class: "fieldset" },
    h("legend", { text: legend }),
    description ? h("p", { class: "muted small", text: description }) : null,
    h("div", { class: "grid" }, fields),
  );
}

function setPath(obj, path, value) {
  const parts = path.split(".");
  let cur = obj;
  for (let i = 0; i < parts.length - 1; i += 1) {
    if (typeof cur[parts[i]] !== "object" || cur[parts[i]] === null) cur[parts[i]] = {};
    cur = cur[parts[i]];
  }
  cur[parts[parts.length - 1]] = value;
}

function getPath(obj, path) {
  return path.split(".").reduce((cur, p) => (cur == null ? undefined : cur[p]), obj);
}

/**
 * Read the named controls of `root` into a nested object. Empty text is omitted, or sent as
 * null when `original` had a value there (so clearing a field really clears it).
 */
export function collect(root, original = null) {
  const out = {};
  for (const el of root.querySelectorAll("[data-field]")) {
    if (el.dataset.collect === "no" || !el.name) continue;
    const path = el.dataset.field;
    if (el.type === "checkbox") {
      setPath(out, path, el.checked);
      continue;
    }
    const value = el.value.trim();
    if (value === "") {
      const before = original ? getPath(original, path) : undefined;
      if (before !== undefined && before !== null && before !== "") setPath(out, path, null);
      continue;
    }
    setPath(out, path, value);
  }
  return out;
}

/** Remove field errors and the form-level banner inside `root`. */
export function clearErrors(root) {
  for (const el of root.querySelectorAll(".field-error")) {
    el.textContent = "";
    el.hidden = true;
  }
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of root.querySelectorAll(".form-error")) {
    el.textContent = "";
    el.hidden = true;
  }
}

function findControl(root, fieldPath) {
  let path = fieldPath;
  while (path) {
    const el = root.querySelector(`[data-field="${CSS.escape(path)}"]`);
    if (el) return el;
    const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
    if (cut <= 0) break;
    path = path.slice(0, cut);
  }
  // "address" → the first field under it ("address.line1")
  return root.querySelector(`[data-field^="${CSS.escape(fieldPath)}."]`);
}

/** Put a field's message next to its control. */
export function setFieldError(control, text) {
  const message = text ? text.charAt(0).toUpperCase() + text.slice(1) : "Invalid value";
  control.setAttribute("aria-invalid", "true");
  const errId = (control.getAttribute("aria-describedby") || "").split(" ").find((x) => x.endsWith("-err"));
  const errEl = errId ? document.getElementById(errId) : null;
  const target = errEl || control.parentElement.querySelector(".field-error");
  if (target) {
    target.textContent = target.textContent ? `${target.textContent} ${message}` : message;
    target.hidden = false;
  }
}

/**
 * Show an API error inside `root`: each `details[].field` next to its control, the rest in
 * the form's `.form-error` banner (or a toast). Returns true when something was shown.
 */
export function showError(root, err) {
  clearErrors(root);
  const banner = root.querySelector(".form-error");
  const loose = [];
  let first = null;
  if (err instanceof ApiError && err.details.length) {
    for (const d of err.details) {
      const control = d.field ? findControl(root, d.field) : null;
      if (control) {
        setFieldError(control, d.message || "Invalid value");
        first = first || control;
      } else {
        loose.push(d.field ? `${d.field}: ${d.message}` : d.message);
      }
    }
  }
  const summary = describeError(err);
  if (banner && (loose.length || !first)) {
    banner.textContent = loose.length ? `${summary} ${loose.join("; ")}` : summary;
    banner.hidden = false;
  } else if (!banner && (loose.length || !first)) {
    toast(loose.length ? `${summary} ${loose.join("; ")}` : summary, "error");
  }
  if (first) first.focus();
  return true;
}

/** A sentence a person can act on, from an ApiError or any error. */
export function describeError(err) {
  if (!(err instanceof ApiError)) return "Something went wrong. Please try again.";
  switch (err.code) {
    case "validation_error":
      return err.details.length ? "Please check the highlighted fields." : err.message;
    case "conflict":
      return "This record was changed elsewhere in the meantime. Reload to see the latest version.";
    case "rate_limited":
      return `Too many attempts. Please wait${err.retryAfter ? ` ${err.retryAfter} seconds` : " a little"} and try again.`;
    case "vies_unavailable":
      return "The EU VAT service (VIES) could not answer right now. Please try again later.";
    case "mail_delivery_failed":
      return "Sending failed: the mail server could not take the message, so nothing was sent. Check the address or try again later.";
    case "mail_not_configured":
      return "Sending failed: no mail server is set up for this installation. Ask its operator.";
    case "not_found":
      return "This record does not exist (or no longer exists).";
    case "invalid_state":
      return err.message || "This action is not allowed in the current status.";
    default:
      return err.message || "Something went wrong.";
  }
}

/** A form-level error banner (place it at the top of a form). */
export function formError() {
  return h("div", { class: "form-error", role: "alert", hidden: true });
}

/** Run `fn` with `button` in a visible busy state (disabled, spinner, aria-busy). */
export async function withBusy(button, fn, busyText = null) {
  if (!button) return fn();
  const label = [...button.childNodes]; // icons included
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.classList.add("is-busy");
  if (busyText) button.textContent = busyText;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.classList.remove("is-busy");
    if (busyText) button.replaceChildren(...label);
  }
}

let toastRegion = null;
/** A short message in a polite live region. */
export function toast(message, kind = "info") {
  if (!toastRegion) {
    toastRegion = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastRegion);
  }
  const el = h("div", { class: `toast toast-${kind}`, text: message });
  toastRegion.append(el);
  setTimeout(() => el.classList.add("toast-leave"), kind === "error" ? 6000 : 3500);
  setTimeout(() => el.remove(), kind === "error" ? 6400 : 3900);
}

/** A coloured status pill. A finalized credit note owes nothing, so "open" reads "Issued". */
export function badge(status, kind = "invoice") {
  const text = kind === "credit_note" && status === "open" ? "Issued" : statusLabel(status);
  return h("span", { class: `badge badge-${status}`, text });
}

export function button(label, attrs = {}, iconNode = null) {
  const { variant = "secondary", ...rest } = attrs;
  return h("button", { type: "button", class: `btn btn-${variant}`, ...rest }, iconNode, iconNode ? " " : null, label);
}

/**
 * A modal dialog with a form. `onSubmit(form, values)` may throw an ApiError; it is shown
 * inside the dialog next to the named fields. Resolves with onSubmit's result, or null.
 */
export function openDialog({ title, body = [], submitLabel = "Save", onSubmit, danger = false, wide = false, cancelLabel = "Cancel" }) {
  return new Promise((resolve) => {
    const titleId = nextId("dlg");
    const submit = h("button", { type: "submit", class: `btn ${danger ? "btn-danger" : "btn-primary"}`, text: submitLabel });
    const cancel = h("button", { type: "button", class: "btn btn-secondary", text: cancelLabel });
    const form = h(
      "form",
      { class: "dialog-form", novalidate: true },
      h("header", { class: "dialog-head" }, h("h2", { id: titleId, text: title })),
      h("div", { class: "dialog-body" }, formError(), body),
      h("footer", { class: "dialog-foot" }, onSubmit ? [cancel, submit] : h("button", { type: "submit", class: "btn btn-primary", text: cancelLabel })),
    );
    const dlg = h("dialog", { class: `dialog${wide ? " dialog-wide" : ""}`, "aria-labelledby": titleId }, form);
    let result = null;
    cancel.addEventListener("click", () => dlg.close());
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!onSubmit) {
        dlg.close();
        return;
      }
      clearErrors(form);
      try {
        result = await withBusy(submit, () => onSubmit(form, collect(form)));
        if (result !== false) {
          dlg.close();
        }
      } catch (err) {
        showError(form, err);
      }
    });
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(result === false ? null : result);
    });
    document.body.append(dlg);
    dlg.showModal();
    const firstInput = form.querySelector(".dialog-body input, .dialog-body select, .dialog-body textarea");
    if (firstInput) firstInput.focus();
  });
}

/** Ask a yes/no question. */
export async function confirmDialog(title, message, confirmLabel = "Confirm", danger = false) {
  const res = await openDialog({
    title,
    body: h("p", { text: message }),
    submitLabel: confirmLabel,
    danger,
    onSubmit: async () => true,
  });
  return res === true;
}

/** Page header with title, optional subtitle and action buttons. */
export function pageHeader(title, actions = [], subtitle = null) {
  return h(
    "header",
    { class: "page-head" },
    h("div", { class: "page-title" }, h("h1", { text: title }), subtitle ? h("p", { class: "muted", text: subtitle }) : null),
    h("div", { class: "page-actions" }, actions),
  );
}

/** An empty-state panel. */
export function emptyState(title, text, action = null) {
  return h("div", { class: "empty" }, h("h2", { text: title }), h("p", { class: "muted", text }), action);
}

/** Loading placeholder. */
export function loading(text = "Loading…") {
  return h("div", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), " ", text);
}
