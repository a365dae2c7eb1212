"""Billow's pure invoicing domain: no I/O, no boto3, no store. Plain data and models in,
models out. One calculation path for the API, the PDF, the mail and the e-invoice.

Public API (import from the submodules):

- ``errors``: ValidationFailed (``.details``: list[FieldError]), FieldError, InvalidState
  (``.status``, ``.action``), NotFound, Conflict.
- ``money``: minor_units(currency), quantum, to_decimal(value, field), round_money(amount,
  currency, rounding="half_up"), format_amount(amount, currency), check_minor_units,
  validate_currency, decimal_str.
- ``models``: Address, Bank, Entity, Client, VatVerification, Product, Line, TaxBreakdown,
  Payment, PdfRef, Invoice, TimelineEvent, STATUSES, EVENT_TYPES, EN16931 (field → BT/BG map),
  DOCUMENT_TYPE_CODES, unit_code (UN/ECE Rec 20),
  parse_model(cls, data, prefix="") → model or ValidationFailed with ``lines[2].quantity`` paths,
  clean_vat_number.
- ``vat``: EU_MEMBER_STATES, is_eu, vat_country, normalize_country, vat_treatment(seller_country,
  buyer_country, buyer_vat_valid, supply_type, default_rate) → (category, rate, mention),
  resolve_line_vat, DEFAULT_MENTIONS.
- ``calc``: compute(invoice, rounding=None) → invoice with nets, tax_breakdown and totals;
  apply_vat(invoice, seller, buyer); price(invoice, seller, buyer) = apply_vat + compute;
  line_net, tax_breakdown, mentions.
- ``numbering``: validate_pattern, format_number(pattern, seq, issue_date), counter_name(entity_id,
  kind, pattern, reset, issue_date), pattern_for(entity, kind), series_start(entity, kind),
  next_sequence(counter, start) = max(counter + 1, start).
- ``lifecycle``: TRANSITIONS, transition(status, action, full=None, kind="invoice") → new status
  or InvalidState, allowed, allowed_actions, ensure_voidable(status, has_payments), DELETED.
- ``compliance``: missing_mandatory(invoice, seller, buyer) → list[FieldError] (art. 226).
- ``drafts``: product_ids(lines), build_lines, draft_invoice(data, entity, client, products),
  update_draft(invoice, data, entity, client, products), duplicate(invoice, entity, client, today=);
  the steps quotes share: new_draft(model, data, ...), changed_draft(document, data, ...),
  invoice_draft_from(source, ...), as_issued(document, entity, client, today, dates).
- ``finalize``: prepare_finalize(invoice, seller, buyer, today) → priced, checked, numberless;
  series_counter(prepared) → (counter key, start); complete_finalize(prepared, seq, now).
- ``payments``: apply_payment(invoice, amount, paid_on=, method=, reference=, payment_id=, now=).
- ``credit``: build_credit_note(original, reason=, lines=, previous_credit_notes=, issue_date=),
  apply_credit(original, credit_note, previous_credit_notes=, now=), remaining_creditable.
- ``references``: payment_reference(method, number, ocr_length_digit=False), rf_reference,
  ocr_reference(base, length_digit=False), is_valid_ocr.
"""
