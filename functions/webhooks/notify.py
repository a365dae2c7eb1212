"""Telling an endpoint's owner that the worker disabled it (3 days of failures), after the
commit that disabled it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from storage_adapter import Store

from .staging import WEBHOOKS

log = logging.getLogger("billow.webhooks")


def _disabled_message(to: str, hook: Mapping[str, Any]) -> EmailMessage:
    from functions.mail.messages import sender_address

    message = EmailMessage()
    message["Subject"] = "Billow: a webhook endpoint was disabled after 3 days of failures"
    message["From"] = sender_address()
    message["To"] = to
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        "Every delivery to this webhook endpoint has failed since "
        f"{hook.get('failing_since')}, so Billow has disabled it:\n\n"
        f"    {hook.get('url')}\n\n"
        "Events are no longer sent to it. Fix the endpoint, then enable it again on the "
        'Webhooks page of the app (or with webhook.update, status "enabled") and redeliver '
        "the events you missed from its deliveries log.\n"
    )
    return message


def mail_disabled(store: Store, services: Mapping[str, Any], webhook_ids: list[str]) -> int:
    """Tell each disabled webhook's owner (the account's address); returns mails sent."""
    sent = 0
    mailer = services.get("mailer")
    for hook_id in webhook_ids:
        hook = store.get(WEBHOOKS, hook_id)
        account = store.get("accounts", hook.account_id) if hook and hook.account_id else None
        to = account.data.get("email") if account else None
        if hook is None or not to or mailer is None:
            continue
        try:
            mailer.send(_disabled_message(str(to), hook.data))
            sent += 1
        except Exception:
            log.exception("the mail about disabled webhook %s was not sent", hook_id)
    return sent
