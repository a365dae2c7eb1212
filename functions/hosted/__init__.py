"""The customer's side: hosted invoice (and quote) pages, server-rendered, no script.

- :mod:`.view` — what a page shows, from the document's API representation (pure);
- :mod:`.pages` — the pages as HTTP answers (HTML, CSP with the style's hash, noindex, no
  referrer) and the one 404 of unknown and rotated links;
- :mod:`.labels` — the page's words in the PDF's eight languages;
- :mod:`.qr` — the EPC payment QR code as inline SVG;
- :mod:`.tokens` — tokens, their hashes, URL paths and the rate limit of misses;
- :mod:`.forms` — the quote page's accept/decline answers (plain HTML forms).
"""
