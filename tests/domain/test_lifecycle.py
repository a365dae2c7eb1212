"""Every (status, action) pair: allowed ones land where the contract says, the rest are refused
with InvalidState naming the current status."""

import itertools

import pytest

from functions.domain.errors import InvalidState
from functions.domain.lifecycle import (
    ACTIONS,
    DELETED,
    allowed_actions,
    ensure_voidable,
    transition,
)
from functions.domain.models import STATUSES

# Written out by hand from the contract (not derived from the module under test).
EXPECTED = {
    ("draft", "update"): "draft",
    ("draft", "delete"): DELETED,
    ("draft", "finalize"): "open",
    ("open", "send"): "sent",
    ("sent", "send"): "sent",
    ("overdue", "send"): "sent",
    ("open", "mark_overdue"): "overdue",
    ("sent", "mark_overdue"): "overdue",
    ("open", "record_payment"): "open",
    ("sent", "record_payment"): "sent",
    ("overdue", "record_payment"): "overdue",
    ("uncollectible", "record_payment"): "uncollectible",
    ("open", "record_full_payment"): "paid",
    ("sent", "record_full_payment"): "paid",
    ("overdue", "record_full_payment"): "paid",
    ("uncollectible", "record_full_payment"): "paid",
    ("open", "void"): "void",
    ("sent", "void"): "void",
    ("overdue", "void"): "void",
    ("open", "mark_uncollectible"): "uncollectible",
    ("sent", "mark_uncollectible"): "uncollectible",
    ("overdue", "mark_uncollectible"): "uncollectible",
    ("open", "credit"): "credited",
    ("sent", "credit"): "credited",
    ("overdue", "credit"): "credited",
    ("paid", "credit"): "credited",
    ("uncollectible", "credit"): "credited",
    ("open", "credit_partial"): "open",
    ("sent", "credit_partial"): "sent",
    ("overdue", "credit_partial"): "overdue",
    ("paid", "credit_partial"): "paid",
    ("uncollectible", "credit_partial"): "uncollectible",
}

ALL_PAIRS = list(itertools.product(STATUSES, ACTIONS))


def test_statuses_and_actions_are_the_contract_ones():
    assert set(STATUSES) == {
        "draft",
        "open",
        "sent",
        "overdue",
        "paid",
        "void",
        "uncollectible",
        "credited",
    }
    assert {a for _, a in EXPECTED} == set(ACTIONS)


@pytest.mark.parametrize(("status", "action"), sorted(EXPECTED))
def test_allowed_transition(status, action):
    assert transition(status, action) == EXPECTED[(status, action)]


@pytest.mark.parametrize(("status", "action"), [pair for pair in ALL_PAIRS if pair not in EXPECTED])
def test_refused_transition_names_the_status(status, action):
    with pytest.raises(InvalidState) as err:
        transition(status, action)
    assert err.value.status == status
    assert err.value.action == action
    assert status in err.value.message


@pytest.mark.parametrize("status", ["open", "sent", "overdue", "uncollectible"])
def test_full_flag_picks_the_payment_flavour(status):
    assert transition(status, "record_payment", full=True) == "paid"
    assert transition(status, "record_payment", full=False) == status


@pytest.mark.parametrize("status", ["open", "sent", "overdue", "paid", "uncollectible"])
def test_full_flag_picks_the_credit_flavour(status):
    assert transition(status, "credit", full=True) == "credited"
    assert transition(status, "credit", full=False) == status


def test_void_is_refused_once_paid_in_part():
    assert ensure_voidable("open", has_payments=False) == "void"
    with pytest.raises(InvalidState) as err:
        ensure_voidable("sent", has_payments=True)
    assert err.value.status == "sent" and "payments" in err.value.message
    with pytest.raises(InvalidState):
        ensure_voidable("paid", has_payments=False)


def test_credit_notes_can_only_be_sent():
    assert transition("draft", "finalize", kind="credit_note") == "open"
    assert transition("open", "send", kind="credit_note") == "sent"
    for action in ("record_payment", "void", "credit", "mark_overdue", "mark_uncollectible"):
        with pytest.raises(InvalidState) as err:
            transition("open", action, kind="credit_note")
        assert "open" in err.value.message


def test_allowed_actions_for_the_app():
    assert allowed_actions("draft") == ["update", "delete", "finalize"]
    assert allowed_actions("void") == []
    assert allowed_actions("credited") == []


def test_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        transition("open", "archive")
