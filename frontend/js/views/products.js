// Products: the price catalogue used by the invoice editor's product picker.

import { call } from "../api.js";
import { h, icon, mount } from "../dom.js";
import { CURRENCIES, money } from "../format.js";
import { entities, invalidate, products } from "../state.js";
import { confirmDialog, describeError, emptyState, field, loading, openDialog, pageHeader, toast } from "../ui.js";

function productFields(p, defaultCurrency) {
  return h(
    "div",
    { class: "grid" },
    field({ label: "Name", name: "name", required: true, value: p.name, wide: true }),
    field({ label: "Description", name: "description", type: "textarea", rows: 2, value: p.description, wide: true }),
    field({ label: "Unit price", name: "unit_price", required: true, value: p.unit_price, attrs: { inputmode: "decimal" }, placeholder: "0.00" }),
    field({ label: "Currency", name: "currency", options: CURRENCIES.map((c) => [c, c]), value: p.currency || defaultCurrency }),
    field({ label: "Unit", name: "unit", value: p.unit, placeholder: "hour, day, piece…" }),
    field({ label: "VAT rate (%)", name: "vat_rate", value: p.vat_rate, placeholder: "Company default", attrs: { inputmode: "decimal" } }),
    field({ label: "Supply type", name: "supply_type", options: [["services", "Services"], ["goods", "Goods"]], value: p.supply_type || "services" }),
  );
}

export async function renderProducts(main) {
  mount(main, pageHeader("Products"), loading());
  const ents = await entities();
  const defaultCurrency = ents[0]?.currency || "EUR";
  const list = await products(true);

  const edit = async (p = {}) => {
    const res = await openDialog({
      title: p.id ? `Edit ${p.name}` : "New product",
      body: productFields(p, defaultCurrency),
      submitLabel: p.id ? "Save product" : "Create product",
      onSubmit: (_f, v) => {
        if (p.id) {
          for (const k of ["description", "unit", "vat_rate"]) if (!v[k] && p[k]) v[k] = null;
          return call("product.update", { product_id: p.id, version: p.version, ...v });
        }
        return call("product.create", v, { idempotent: true });
      },
    });
    if (res) {
      invalidate("products");
      toast(p.id ? "Product saved" : `Product ${res.name} created`, "success");
      renderProducts(main);
    }
  };

  const newBtn = h("button", { type: "button", class: "btn btn-primary" }, icon("plus"), " New product");
  newBtn.addEventListener("click", () => edit());
  const rows = list.map((p) => {
    const editBtn = h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": `Edit ${p.name}`, text: "Edit" });
    editBtn.addEventListener("click", () => edit(p));
    const archiveBtn = h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": `Archive ${p.name}`, text: "Archive" });
    archiveBtn.addEventListener("click", async () => {
      if (!(await confirmDialog(`Archive ${p.name}?`, "It disappears from the product picker; invoices keep their lines.", "Archive"))) return;
      try {
        await call("product.archive", { product_id: p.id });
        invalidate("products");
        toast("Product archived", "success");
        renderProducts(main);
      } catch (err) {
        toast(describeError(err), "error");
      }
    });
    return h(
      "tr",
      {},
      h("td", {}, h("strong", { text: p.name }), p.description ? h("div", { class: "muted small", text: p.description }) : null),
      h("td", { class: "num", text: money(p.unit_price, p.currency) }),
      h("td", { text: p.unit || "—" }),
      h("td", { class: "num", text: p.vat_rate ? `${p.vat_rate}%` : "default" }),
      h("td", { text: p.supply_type === "goods" ? "Goods" : "Services" }),
      h("td", { class: "row-actions" }, editBtn, archiveBtn),
    );
  });
  mount(
    main,
    pageHeader("Products", [newBtn], "Your price list. Pick products when you add invoice lines."),
    h(
      "section",
      { class: "card" },
      list.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table" },
              h("thead", {}, h("tr", {}, ["Product", "Price", "Unit", "VAT", "Type", ""].map((t, i) => h("th", { scope: "col", class: i === 1 || i === 3 ? "num" : null, text: t })))),
              h("tbody", {}, rows),
            ),
          )
        : emptyState("No products yet", "Save the services and goods you sell, with their prices, to add them to invoices in one click."),
    ),
  );
  return null;
}
