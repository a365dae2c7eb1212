"""The daily run (contract: "The daily run"): everything that falls due up to a day, once.

``run_daily(store, today)`` (:mod:`functions.daily.run`) takes the store's daily lease, runs
each job of :data:`functions.daily.run.JOBS` for that day and records the day as done. It is
what ``billow daily`` / ``billow overdue``, ``billow serve`` (at start and at 07:00 UTC) and the
AWS scheduled function run.
"""
