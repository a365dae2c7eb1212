"""Billow's books: pure functions from documents to journal entries, and the exports.

No I/O, no store: the services post the entries in the same commit as the change they
record (see each module's docstring).

- ``charts``: CHARTS (skr03, skr04, bas, generic), ROLES, default_chart(country),
  chart_for(name, country), check_accounts(chart, accounts, country) → [(field, message)],
  Books (chart + overrides; account(role), rate_role(base, rate), account_name,
  is_automatic), books_for(entity).
- ``entries``: JournalLine, JournalEntry (balanced by construction), ENTRY_TYPES,
  post_finalize(doc, books), post_payment(doc, payment, books, previous=),
  post_credit(note, books, original_before=, original_after=, original_entries=),
  post_refund(note, refund, books), post_void(doc, previous, on=),
  post_uncollectible(doc, books, on=), balances(entries), write_off_remaining, entry_id,
  vat_code.
- ``currency``: in_currency(entries, base, rates) for the one-currency exports.
- ``export_csv``: export_csv(entries, books), CSV_COLUMNS.
- ``export_datev``: export_datev(entries, books, period_from=, period_to=, created_at=,
  settings=DatevSettings(...), currency="EUR", rates=None), HEADER_FIELDS, COLUMNS,
  datev_filename, postings(entry, books).
- ``export_sie``: export_sie(entries, books, period_from=, period_to=, created_at=,
  settings=SieSettings(...), currency="SEK", rates=None), sie_filename.
- ``aging``: aging(documents, as_of, currency=None), BUCKETS.
"""
