"""check_vat against the VIES look-alike on loopback."""

from __future__ import annotations

import re

import pytest

from functions.domain.errors import ValidationFailed
from functions.vies.checker import BUSY_CODES, check_vat
from tests.vies.conftest import HANG, error_wrapper, invalid_answer, valid_answer

CLIENT_VAT = "DE 136 695 976"
ENTITY_VAT = "ATU13585627"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def check(vies, pauses, number=CLIENT_VAT, requester=ENTITY_VAT, **kwargs):
    return check_vat(number, requester, url=vies.url, sleep=pauses.append, **kwargs)


def test_valid_answer_is_recorded_with_evidence(vies, pauses):
    vies.answer_with((200, valid_answer("DE", "136695976", requestIdentifier="WAPIAAAAZ1h6kq0B")))

    result = check(vies, pauses)

    assert result.status == "valid"
    assert result.name == "ACME GMBH"
    assert result.address == "HAUPTSTR. 1\n10115 BERLIN"
    assert result.request_identifier == "WAPIAAAAZ1h6kq0B"
    assert (result.country_code, result.vat_number) == ("DE", "136695976")
    assert TIMESTAMP.match(result.checked_at)
    assert result.error is None
    # the request VIES received: compact national part, requester split the same way
    assert vies.requests == [
        {
            "path": "/taxation_customs/vies/rest-api/check-vat-number",
            "body": {
                "countryCode": "DE",
                "vatNumber": "136695976",
                "requesterMemberStateCode": "AT",
                "requesterNumber": "U13585627",
            },
        }
    ]
    assert pauses == []


def test_invalid_answer_with_undisclosed_name(vies, pauses):
    vies.answer_with((200, invalid_answer("DE", "136695976")))

    result = check(vies, pauses)

    assert result.status == "invalid"
    assert result.name is None and result.address is None
    assert result.request_identifier is None
    assert len(vies.requests) == 1


def test_without_requester_only_the_number_is_sent(vies, pauses):
    vies.answer_with((200, valid_answer("DE", "136695976")))

    result = check(vies, pauses, requester=None)

    assert result.status == "valid"
    assert vies.requests[0]["body"] == {"countryCode": "DE", "vatNumber": "136695976"}


@pytest.mark.parametrize(
    ("number", "country", "national"),
    [
        ("EL094259216", "EL", "094259216"),
        ("GR 094259216", "EL", "094259216"),  # VIES knows Greece only as EL
        ("XI 980 7806 84", "XI", "980780684"),  # Northern Ireland
        ("nl004495445b01", "NL", "004495445B01"),
    ],
)
def test_country_codes_as_vies_expects_them(vies, pauses, number, country, national):
    vies.answer_with((200, valid_answer(country, national)))

    assert check(vies, pauses, number=number).status == "valid"
    assert vies.requests[0]["body"]["countryCode"] == country
    assert vies.requests[0]["body"]["vatNumber"] == national


@pytest.mark.parametrize(
    "number",
    ["DE136695977", "DE12", "US123456789", "GB980780684", "", "   ", "136695976"],
)
def test_malformed_number_is_refused_and_never_sent(vies, pauses, number):
    vies.answer_with((200, valid_answer("DE", "136695976")))

    with pytest.raises(ValidationFailed) as refused:
        check(vies, pauses, number=number)

    assert [d.field for d in refused.value.details] == ["vat_number"]
    assert vies.requests == []


def test_malformed_requester_is_refused_and_never_sent(vies, pauses):
    vies.answer_with((200, valid_answer("DE", "136695976")))

    with pytest.raises(ValidationFailed) as refused:
        check(vies, pauses, requester="ATU13585628")

    assert [d.field for d in refused.value.details] == ["requester_vat"]
    assert vies.requests == []


@pytest.mark.parametrize("code", sorted(BUSY_CODES))
def test_busy_error_wrapper_with_http_200_is_retried_then_unavailable(vies, pauses, code):
    vies.answer_with((200, error_wrapper(code)))

    result = check(vies, pauses)

    assert result.status == "unavailable"
    assert result.error == code
    assert len(vies.requests) == 3
    assert pauses == [0.2, 0.5]


@pytest.mark.parametrize(
    "code", ["MS_MAX_CONCURRENT_REQ", "GLOBAL_MAX_CONCURRENT_REQ", "SERVICE_UNAVAILABLE"]
)
def test_busy_code_as_http_error_status_is_unavailable(vies, pauses, code):
    vies.answer_with((503, error_wrapper(code)))

    result = check(vies, pauses)

    assert result.status == "unavailable"
    assert code in result.error
    assert len(vies.requests) == 3


def test_busy_then_answer_recovers_after_back_off(vies, pauses):
    vies.answer_with(
        (200, error_wrapper("MS_MAX_CONCURRENT_REQ")),
        (200, error_wrapper("MS_UNAVAILABLE")),
        (200, valid_answer("DE", "136695976", requestIdentifier="WAPIAAAAZ1h6kq0C")),
    )

    result = check(vies, pauses)

    assert result.status == "valid"
    assert result.request_identifier == "WAPIAAAAZ1h6kq0C"
    assert len(vies.requests) == 3
    assert pauses == [0.2, 0.5]


def test_valid_false_with_a_busy_user_error_is_not_invalid(vies, pauses):
    # seen from the real service: "valid": false, but userError names a busy member state
    vies.answer_with(
        (200, valid_answer("DE", "136695976", valid=False, userError="MS_MAX_CONCURRENT_REQ"))
    )

    result = check(vies, pauses)

    assert result.status == "unavailable"
    assert result.error == "MS_MAX_CONCURRENT_REQ"


def test_http_500_is_unavailable(vies, pauses):
    vies.answer_with((500, "<html>Internal Server Error</html>"))

    result = check(vies, pauses)

    assert result.status == "unavailable"
    assert "500" in result.error
    assert len(vies.requests) == 3


def test_hang_past_the_timeout_is_unavailable(vies, pauses):
    vies.answer_with((200, HANG))

    result = check(vies, pauses, timeout=0.5)

    assert result.status == "unavailable"
    assert result.error.startswith("TIMEOUT")
    assert len(vies.requests) == 1  # the timeout is not multiplied by retries


def test_non_busy_error_is_unavailable_without_retry(vies, pauses):
    vies.answer_with((400, error_wrapper("INVALID_INPUT")))

    result = check(vies, pauses)

    assert result.status == "unavailable"
    assert "INVALID_INPUT" in result.error
    assert len(vies.requests) == 1
    assert pauses == []


@pytest.mark.parametrize(
    "answer",
    [
        (200, "<html>maintenance</html>"),
        (200, {"countryCode": "DE", "vatNumber": "136695976"}),
        (200, {"valid": "true"}),
        (200, {"actionSucceed": False}),
    ],
)
def test_anything_but_valid_true_or_false_is_unavailable(vies, pauses, answer):
    vies.answer_with(answer)

    assert check(vies, pauses).status == "unavailable"


def test_nothing_listening_is_unavailable(pauses):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # the port is closed again: connection refused
    result = check_vat(CLIENT_VAT, None, url=f"http://127.0.0.1:{port}/check", sleep=pauses.append)

    assert result.status == "unavailable"
    assert pauses == [0.2, 0.5]


def test_url_comes_from_environment(vies, pauses, monkeypatch):
    monkeypatch.setenv("BILLOW_VIES_URL", vies.url)
    vies.answer_with((200, invalid_answer("DE", "136695976")))

    result = check_vat(CLIENT_VAT, None, sleep=pauses.append)

    assert result.status == "invalid"
    assert len(vies.requests) == 1
