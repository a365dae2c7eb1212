"""Webhooks: outbox events → signed deliveries, retries over days, an SSRF guard.

Pure parts (no store, no network) and I/O only at the edges:

- :mod:`.events` — the contract's event types, the map from timeline events to them, the
  event envelope and its exact JSON body (signed and resent byte for byte);
- :mod:`.signing` — ``whsec_`` secrets and Standard Webhooks headers (``standardwebhooks``);
- :mod:`.sealing` — how a signing secret is kept at rest (encrypted, never hashed: it must
  sign again at every delivery);
- :mod:`.ssrf` — which URLs and addresses may be called, with an injectable resolver;
- :mod:`.delivery` — one HTTP attempt to the *resolved, checked* address (no second lookup);
- :mod:`.retry` — the retry schedule and the "failing for 3 days: disable" decision;
- :mod:`.outbox` — the state of one delivery (event × webhook) from attempt to attempt;
- :mod:`.worker` — fan-out, claims, attempts and their records through the store port
  (``stage_event`` for the services, ``Worker.run_once`` for ``billow serve``/``daily``/AWS).

How the services, the API, ``billow serve`` and AWS call these: ``docs/wiring-issue-17.md``.
"""
