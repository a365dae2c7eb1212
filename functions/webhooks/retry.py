"""When to try a failed delivery again, when to give up on it, when to disable the webhook.

Pure functions over times and attempt histories (no clock read, randomness injected).

Schedule (after the first attempt, made as soon as the event is committed): 5 s, 5 min, 30 min,
2 h, 5 h, then every 10 h, each delay stretched by up to 10 % of jitter (receivers recovering
from an outage are not hit by every sender in the same second). The last retry is the first
one at least :data:`RETRY_FOR` (3 days) after the first attempt: 13 attempts over about 3 days
and 6 hours without jitter, 12 when the jitter has stretched the delays enough. A delivery
still failing then is ``failed``; it can be redelivered by hand.

An *endpoint* that has failed every attempt for 3 days (no success in between, the failures
spanning 3 days) is disabled and its owner mailed; :func:`should_disable` decides that from the
endpoint's attempt log.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

#: Delays before retries 1..5; every later retry waits :data:`STEADY_DELAY`.
FIRST_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
)
STEADY_DELAY = timedelta(hours=10)
RETRY_FOR = timedelta(days=3)
#: Jitter added to a delay, as a fraction of it (only ever added: the schedule never shrinks).
JITTER = 0.10
#: An endpoint failing for this long, without a success in between, is disabled.
DISABLE_AFTER = timedelta(days=3)


def delay_before(retry: int) -> timedelta:
    """The delay before retry number ``retry`` (1 = the first retry), without jitter."""
    if retry < 1:
        raise ValueError("retries are numbered from 1")
    return FIRST_DELAYS[retry - 1] if retry <= len(FIRST_DELAYS) else STEADY_DELAY


def schedule() -> list[timedelta]:
    """Offsets of every attempt from the first one (first = 0), without jitter."""
    offsets = [timedelta(0)]
    retry = 1
    while offsets[-1] < RETRY_FOR:
        offsets.append(offsets[-1] + delay_before(retry))
        retry += 1
    return offsets


MAX_ATTEMPTS = len(schedule())


def next_attempt_at(
    *,
    first_attempt_at: datetime,
    last_attempt_at: datetime,
    attempts: int,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, the last at ``last_attempt_at``;
    ``None`` once the retries have covered :data:`RETRY_FOR` since the first attempt."""
    if attempts < 1:
        raise ValueError("at least one attempt was made")
    if last_attempt_at - first_attempt_at >= RETRY_FOR:
        return None
    delay = delay_before(attempts)
    jitter = (rng or random).random() * JITTER
    return last_attempt_at + delay * (1 + jitter)


@dataclass(frozen=True)
class Attempt:
    """One entry of an endpoint's attempt log (any event)."""

    at: datetime
    ok: bool


def failing_since(history: Iterable[Attempt]) -> datetime | None:
    """The first failure after the last success (``None`` if the last attempt succeeded)."""
    since: datetime | None = None
    for attempt in sorted(history, key=lambda a: a.at):
        if attempt.ok:
            since = None
        elif since is None:
            since = attempt.at
    return since


def should_disable(history: Iterable[Attempt]) -> bool:
    """Whether the endpoint has failed for :data:`DISABLE_AFTER`: every attempt since some
    moment failed, and those failures span at least 3 days (judged on attempts made, not on
    the clock: an endpoint nobody tried for 3 days has not been seen failing)."""
    attempts = sorted(history, key=lambda a: a.at)
    since = failing_since(attempts)
    if since is None:
        return False
    return attempts[-1].at - since >= DISABLE_AFTER
