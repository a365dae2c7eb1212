"""One VatVerifier interface, two ways to run it: in-process and Lambda invoke.

The Lambda path is exercised with a stand-in for boto3's Lambda client that does what Lambda
does with a RequestResponse invoke — JSON in, the real ``lambda_handler``, JSON out — so the
payload round trip and error mapping are real; only AWS's transport is left out (moto cannot
run Lambda functions without Docker).
"""

from __future__ import annotations

import io
import json

import pytest

from functions.domain.errors import ValidationFailed
from functions.vies.client import (
    DirectVatVerifier,
    LambdaVatVerifier,
    VatVerifier,
    get_verifier,
)
from functions.vies.handler import lambda_handler
from tests.vies.conftest import error_wrapper, valid_answer


class LocalLambda:
    """Runs the VIES handler as Lambda would for a synchronous invoke."""

    def __init__(self, *, crash: bool = False) -> None:
        self.crash = crash
        self.invocations: list[dict] = []

    def invoke(self, FunctionName, InvocationType, Payload):
        event = json.loads(Payload)
        self.invocations.append({"function": FunctionName, "type": InvocationType, "event": event})
        if self.crash:
            body = {"errorMessage": "Task timed out after 15.00 seconds"}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(body).encode()),
            }
        result = lambda_handler(event, None)
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}


def test_handler_returns_the_result_dict(vies, monkeypatch):
    monkeypatch.setenv("BILLOW_VIES_URL", vies.url)
    vies.answer_with((200, valid_answer("DE", "136695976", requestIdentifier="WAPIAAAAH1")))

    result = lambda_handler({"vat_number": "DE136695976", "requester_vat": "ATU13585627"}, None)

    assert result["status"] == "valid"
    assert result["request_identifier"] == "WAPIAAAAH1"
    assert result["country_code"] == "DE"
    assert json.loads(json.dumps(result)) == result


def test_handler_reports_a_malformed_number_as_validation_error(vies, monkeypatch):
    monkeypatch.setenv("BILLOW_VIES_URL", vies.url)

    result = lambda_handler({"vat_number": "DE136695977", "requester_vat": None}, None)

    assert result["refused"]["code"] == "validation_error"
    assert result["refused"]["details"][0]["field"] == "vat_number"
    assert vies.requests == []


def test_lambda_verifier_round_trip(vies, monkeypatch):
    monkeypatch.setenv("BILLOW_VIES_URL", vies.url)
    vies.answer_with((200, valid_answer("DE", "136695976", requestIdentifier="WAPIAAAAL1")))
    fake = LocalLambda()
    verifier = LambdaVatVerifier("billow-vies", lambda_client=fake)

    result = verifier.check("DE136695976", "ATU13585627")

    assert result.status == "valid"
    assert result.request_identifier == "WAPIAAAAL1"
    assert fake.invocations[0]["function"] == "billow-vies"
    assert fake.invocations[0]["type"] == "RequestResponse"


def test_lambda_verifier_unavailable_round_trip(vies, monkeypatch):
    monkeypatch.setenv("BILLOW_VIES_URL", vies.url)
    vies.answer_with((400, error_wrapper("INVALID_REQUESTER_INFO")))
    verifier = LambdaVatVerifier("billow-vies", lambda_client=LocalLambda())

    result = verifier.check("DE136695976", "ATU13585627")

    assert result.status == "unavailable"
    assert "INVALID_REQUESTER_INFO" in result.error


def test_lambda_verifier_refuses_malformed_number_without_invoking():
    fake = LocalLambda()
    verifier = LambdaVatVerifier("billow-vies", lambda_client=fake)

    with pytest.raises(ValidationFailed):
        verifier.check("DE136695977", None)

    assert fake.invocations == []


def test_lambda_function_error_is_unavailable_not_invalid():
    verifier = LambdaVatVerifier("billow-vies", lambda_client=LocalLambda(crash=True))

    result = verifier.check("DE136695976", None)

    assert result.status == "unavailable"
    assert "Unhandled" in result.error


def test_get_verifier_chooses_by_environment(monkeypatch):
    monkeypatch.delenv("BILLOW_VIES_FUNCTION", raising=False)
    assert isinstance(get_verifier(), DirectVatVerifier)

    monkeypatch.setenv("BILLOW_VIES_FUNCTION", "billow-vies-prod")
    verifier = get_verifier()
    assert isinstance(verifier, LambdaVatVerifier)
    assert isinstance(verifier, VatVerifier)
    assert verifier.function_name == "billow-vies-prod"
