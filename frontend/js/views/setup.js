// First run: set up the company you invoice from.

import { call } from "../api.js";
import { h, mount } from "../dom.js";
import { entities, navigate } from "../state.js";
import { collect, formError, showError, toast, withBusy } from "../ui.js";
import { entityFields, entityPayload } from "./entity_form.js";

export async function renderSetup(root) {
  const existing = await entities(true);
  if (existing.length) {
    navigate("#/dashboard");
    return null;
  }
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-lg", text: "Create company and continue" });
  const form = h(
    "form",
    { class: "setup-form", novalidate: true, "aria-labelledby": "setup-title" },
    formError(),
    entityFields({}, false),
    h("div", { class: "form-actions" }, h("p", { class: "muted small", text: "You can change all of this later in Settings." }), submit),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const payload = entityPayload(form, collect(form));
    if (!payload) return;
    try {
      await withBusy(submit, () => call("entity.create", payload, { idempotent: true }), "Creating…");
      await entities(true);
      toast("Your company is set up. Create your first invoice!", "success");
      navigate("#/dashboard");
    } catch (err) {
      showError(form, err);
    }
  });
  mount(
    root,
    h(
      "div",
      { class: "setup-page" },
      h(
        "div",
        { class: "setup-card" },
        h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true", text: "b" }), h("span", { class: "brand-name", text: "Billow" })),
        h("p", { class: "eyebrow", text: "Welcome to Billow" }),
        h("h1", { id: "setup-title", text: "Set up your company" }),
        h("p", { class: "muted", text: "These details appear on every invoice you send. Sensible defaults are filled in for you." }),
        form,
      ),
    ),
  );
  document.title = "Set up your company · Billow";
  form.querySelector("input").focus();
  return null;
}
