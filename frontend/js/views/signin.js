// Sign-in: email → a magic link in the mailbox.

import { call } from "../api.js";
import { h, icon, mount } from "../dom.js";
import { clearErrors, describeError, field, formError, setFieldError, showError, withBusy } from "../ui.js";

export function renderSignIn(root, problem = null) {
  const email = field({ label: "Work email", name: "email", type: "email", required: true, autocomplete: "email", placeholder: "you@company.com" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", text: "Email me a sign-in link" });
  const banner = formError();
  if (problem) {
    banner.textContent = problem;
    banner.hidden = false;
  }
  const form = h("form", { class: "auth-form", novalidate: true }, banner, email, submit);
  const card = h(
    "div",
    { class: "auth-card" },
    h("div", { class: "brand brand-lg" }, h("span", { class: "brand-mark", "aria-hidden": "true", text: "b" }), h("span", { class: "brand-name", text: "Billow" })),
    h("h1", { text: "Sign in" }),
    h("p", { class: "muted", text: "No password needed. We'll email you a link that signs you in." }),
    form,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = email.control.value.trim();
    if (!value || !value.includes("@")) {
      clearErrors(form);
      setFieldError(email.control, "Enter the email address you want to sign in with.");
      email.control.focus();
      return;
    }
    try {
      await withBusy(submit, () => call("auth.login", { email: value, callback_url: `${location.origin}${location.pathname}` }), "Sending…");
      mount(
        card,
        h("div", { class: "brand brand-lg" }, h("span", { class: "brand-mark", "aria-hidden": "true", text: "b" }), h("span", { class: "brand-name", text: "Billow" })),
        h("div", { class: "auth-sent" }, icon("mail", "icon icon-xl")),
        h("h1", { text: "Check your mail" }),
        h("p", {}, "We sent a sign-in link to ", h("strong", { text: value }), ". It works once, for 15 minutes."),
        h("p", { class: "muted small", text: "You can close this tab; the link opens Billow signed in." }),
        (() => {
          const again = h("button", { type: "button", class: "btn btn-ghost", text: "Use a different email" });
          again.addEventListener("click", () => renderSignIn(root));
          return again;
        })(),
      );
      card.querySelector("h1").focus?.();
    } catch (err) {
      if (err.details && err.details.length) showError(form, err);
      else {
        banner.textContent = describeError(err);
        banner.hidden = false;
      }
    }
  });
  mount(root, h("div", { class: "auth-page" }, card, h("p", { class: "auth-foot muted small", text: "Open invoicing for small businesses and freelancers." })));
  email.control.focus();
}
