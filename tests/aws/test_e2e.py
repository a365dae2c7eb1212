"""The AWS backend end to end: the real handlers, configured exactly as ``template.yaml``
configures them, against DynamoDB, S3 and SES in moto (server mode, over HTTP on loopback).

The table and the bucket are created from the template's own definitions (keys, indexes, TTL,
point-in-time recovery; public access block, encryption, versioning) and the SES identity from
its parameter. Each handler runs with its function's environment from the template, plus only:

- ``AWS_ENDPOINT_URL`` — boto3 reaches moto instead of AWS (nothing in the template changes);
- ``AWS_LAMBDA_FUNCTION_NAME`` — what Lambda sets, so the code behaves as it does there
  (e.g. the mail transport refuses to fall back to a local outbox);
- ``POWERTOOLS_TRACE_DISABLED`` — there is no X-Ray daemon here.

Lambda-to-Lambda invocation cannot run in moto (its Lambda needs Docker), so the API runs with
``BILLOW_PDF_FUNCTION`` and ``BILLOW_VIES_FUNCTION`` unset: it renders the PDF in-process with
the same code the PDF function runs (``functions.pdf.store.render_and_store``).

Two more tests do exercise the invoke path as deployed: a loopback look-alike of the Lambda
Invoke API (``AWS_ENDPOINT_URL_LAMBDA``) runs the PDF or VIES function's real handler, so the API
calls them exactly as in AWS (``BILLOW_PDF_FUNCTION``/``BILLOW_VIES_FUNCTION`` set).

Path: sign-in (the magic link read from the mail SES accepted) → entity → client → invoice →
finalize (the PDF lands in S3 under ``blobs/``) → presigned download over HTTP → overdue run
(status, timeline, reminder mail through SES) → a second run the same day changes nothing.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from email import policy
from email.parser import BytesParser
from typing import Any

import boto3
import pytest
import requests
from pypdf import PdfReader

from functions.api.events import function_url_event
from functions.api.handler import LocalContext
from functions.api.handler import lambda_handler as api_handler
from tests.aws.template_model import Resolver, function_properties, load_template
from tests.support.moto_server import REGION

pytestmark = [pytest.mark.aws, pytest.mark.slow]

APP_DOMAIN = "app.billow.test"
STACK = "billow-e2e"


class Deployment:
    """A 'deployed stack' in moto: the template's table, bucket and SES identity."""

    def __init__(self, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.endpoint = endpoint
        self.monkeypatch = monkeypatch
        self.test_env: dict[str, str] = {}  # test-only additions (look-alike endpoints)
        self.template = load_template()
        suffix = uuid.uuid4().hex[:10]
        self.table = f"{STACK}-table-{suffix}"
        self.bucket = f"{STACK}-bucket-{suffix}"
        self.ses_identity = f"acme-{suffix}.example"
        self.mail_from = f"Acme Billing <billing@{self.ses_identity}>"
        self.resolve = Resolver(
            {
                "AWS::Region": REGION,
                "AWS::AccountId": "123456789012",
                "AWS::Partition": "aws",
                "AWS::StackName": STACK,
                "Table": self.table,
                "Bucket": self.bucket,
                "AppDistribution.DomainName": APP_DOMAIN,
                "PdfFunction": f"{STACK}-pdf",
                "ViesFunction": f"{STACK}-vies",
                "SesIdentity": self.ses_identity,
                "MailFrom": self.mail_from,
                "SesRegion": "",
                "LogLevel": "INFO",
                "EdgeSecret": "",
            },
            {"SesInStackRegion": True, "HasEdgeSecret": False},
        )

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)

    def create_resources(self) -> None:
        resources = self.template["Resources"]
        table = resources["Table"]["Properties"]
        ddb = self.client("dynamodb")
        ddb.create_table(
            TableName=self.table,
            **{
                k: table[k]
                for k in (
                    "AttributeDefinitions",
                    "KeySchema",
                    "GlobalSecondaryIndexes",
                    "BillingMode",
                )
            },
        )
        ddb.get_waiter("table_exists").wait(
            TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        ddb.update_time_to_live(
            TableName=self.table, TimeToLiveSpecification=table["TimeToLiveSpecification"]
        )
        ddb.update_continuous_backups(
            TableName=self.table,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": table["PointInTimeRecoverySpecification"][
                    "PointInTimeRecoveryEnabled"
                ]
            },
        )

        # the key that seals webhook signing secrets (the API encrypts with it)
        key = self.client("kms").create_key(Description="billow webhook secrets")
        self.resolve.values["WebhookSecretsKey.Arn"] = key["KeyMetadata"]["Arn"]
        # the webhook queue (webhook.redeliver queues a delivery on it)
        sqs = self.client("sqs")
        queue = sqs.create_queue(QueueName=f"{STACK}-hooks-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        self.resolve.values["WebhookQueue"] = queue

        bucket = resources["Bucket"]["Properties"]
        s3 = self.client("s3")
        s3.create_bucket(
            Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        s3.put_public_access_block(
            Bucket=self.bucket,
            PublicAccessBlockConfiguration=bucket["PublicAccessBlockConfiguration"],
        )
        s3.put_bucket_encryption(
            Bucket=self.bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]}
                    for r in bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
            },
        )
        s3.put_bucket_versioning(
            Bucket=self.bucket,
            VersioningConfiguration={"Status": bucket["VersioningConfiguration"]["Status"]},
        )
        self.client("sesv2").create_email_identity(EmailIdentity=self.ses_identity)
        # the hosted-link key: the SecureString `make deploy` creates once (infra/deploy.sh)
        self.client("ssm").put_parameter(
            Name=f"/{STACK}/link-key",
            Type="SecureString",
            Value=base64.urlsafe_b64encode(uuid.uuid4().bytes * 2).decode(),
            Overwrite=True,
        )

    def environment(self, logical_id: str, lambda_endpoint: str | None = None) -> dict[str, str]:
        """The function's environment as the template sets it, resolved for this stack.

        Lambda-to-Lambda invoke cannot run in moto: without ``lambda_endpoint`` (a look-alike of
        the Lambda Invoke API) the PDF and VIES calls are made in-process instead.
        """
        props = function_properties(self.template, logical_id)
        env = self.resolve(props["Environment"]["Variables"])
        name = self.resolve(self.template["Resources"][logical_id]["Properties"]["FunctionName"])
        if lambda_endpoint:
            env["AWS_ENDPOINT_URL_LAMBDA"] = lambda_endpoint
        else:
            env.pop("BILLOW_PDF_FUNCTION", None)
            env.pop("BILLOW_VIES_FUNCTION", None)
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_LAMBDA_FUNCTION_NAME=name,
            POWERTOOLS_TRACE_DISABLED="true",
        )
        return env

    def run_as(self, logical_id: str, lambda_endpoint: str | None = None) -> None:
        """Switch the process environment to that function's (and nothing else of Billow's)."""
        import os

        for name in list(os.environ):
            if name.startswith(("BILLOW_", "POWERTOOLS_", "AWS_ENDPOINT_URL")) or name in {
                "LOG_LEVEL"
            }:
                self.monkeypatch.delenv(name)
        for name, value in {
            **self.environment(logical_id, lambda_endpoint),
            **self.test_env,
        }.items():
            self.monkeypatch.setenv(name, value)

    # --- reading what moto recorded ------------------------------------------------------------

    def mails_to(self, address: str) -> list[Any]:
        data = requests.get(f"{self.endpoint}/moto-api/data.json", timeout=30).json()
        messages = data.get("ses", {}).get("RawMessage", [])
        mine = [m for m in messages if address in m.get("destinations", [])]
        return [BytesParser(policy=policy.default).parsebytes(m["raw_data"].encode()) for m in mine]

    def blob_keys(self) -> list[str]:
        listing = self.client("s3").list_objects_v2(Bucket=self.bucket)
        return [o["Key"] for o in listing.get("Contents", [])]


@pytest.fixture
def stack(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    deployment = Deployment(moto_endpoint, monkeypatch)
    deployment.create_resources()
    yield deployment


def api(
    stack: Deployment,
    action: str,
    key: str | None = None,
    *,
    lambda_endpoint: str | None = None,
    **params: Any,
) -> tuple[int, dict[str, Any]]:
    """POST /api through the API function's handler, as its Function URL would."""
    stack.run_as("ApiFunction", lambda_endpoint)
    headers = {"content-type": "application/json", "origin": f"https://{APP_DOMAIN}"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    event = function_url_event(
        "POST",
        "/api",
        body=json.dumps({"action": action, **params}),
        headers=headers,
        domain="abcdefghij.lambda-url.eu-central-1.on.aws",
    )
    result = api_handler(event, LocalContext(uuid.uuid4().hex))
    return result["statusCode"], json.loads(result["body"])


def ok(call: Callable[..., tuple[int, dict[str, Any]]], *args: Any, **kwargs: Any) -> Any:
    status, body = call(*args, **kwargs)
    assert status == 200, body
    return body


def png_logo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 20), (30, 90, 200)).save(out, format="PNG")
    return out.getvalue()


def text_of(message: Any) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def test_sign_in_invoice_finalize_download_and_overdue_on_aws(stack: Deployment):
    # --- sign-in: the magic link goes out through SES and points at the app's origin ----------
    email_address = f"ann-{uuid.uuid4().hex[:8]}@example.com"
    assert ok(api, stack, "auth.login", email=email_address) == {"sent": True}
    (mail,) = stack.mails_to(email_address)
    assert f"billing@{stack.ses_identity}" in mail["From"]
    link = re.search(r"https?://[^\s\"'<>]+[?&]token=([A-Za-z0-9_\-]+)", text_of(mail))
    assert link, text_of(mail)
    assert link.group(0).startswith(f"https://{APP_DOMAIN}")
    session = ok(api, stack, "auth.verify", token=link.group(1))
    key = session["key"]
    assert ok(api, stack, "auth.me", key)["email"] == email_address

    # --- entity (its logo becomes a blob), client, invoice ------------------------------------
    logo = png_logo()
    entity = ok(
        api,
        stack,
        "entity.create",
        key,
        logo="data:image/png;base64," + base64.b64encode(logo).decode(),
        name="Acme GmbH",
        address={"line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
        vat_number="DE136695976",
        default_vat_rate="19",
        bank={"iban": "DE89370400440532013000", "bic": "DEUTDEFF"},
        email="billing@acme.example",
    )
    client_email = f"ap-{uuid.uuid4().hex[:8]}@kunde.example"
    client = ok(
        api,
        stack,
        "client.create",
        key,
        name="Kunde AG",
        email=client_email,
        address={
            "line1": "Marktplatz 5",
            "postal_code": "80331",
            "city": "München",
            "country": "DE",
        },
    )
    draft = ok(
        api,
        stack,
        "invoice.create",
        key,
        entity_id=entity["id"],
        client_id=client["id"],
        lines=[{"description": "Consulting", "quantity": "2", "unit_price": "100.00"}],
    )
    assert (draft["status"], draft["total"]) == ("draft", "238.00")
    listed = ok(api, stack, "invoice.list", key)  # the by_account index
    assert [i["id"] for i in listed["items"]] == [draft["id"]]

    # --- finalize: number, PDF in S3 under blobs/ -------------------------------------------
    invoice = ok(api, stack, "invoice.finalize", key, invoice_id=draft["id"])
    assert invoice["status"] == "open"
    assert invoice["number"]
    sha256 = invoice["pdf"]["sha256"]
    logo_key, pdf_key = sorted(stack.blob_keys())
    assert logo_key == f"blobs/logos/{session['account_id']}/{hashlib.sha256(logo).hexdigest()}.png"
    assert pdf_key.startswith("blobs/") and pdf_key.endswith(f"{sha256}.pdf")
    stored = stack.client("s3").get_object(Bucket=stack.bucket, Key=pdf_key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == sha256
    # the PDF function's code read the logo back from S3 and drew it
    (page,) = PdfReader(io.BytesIO(stored)).pages
    assert [image.image.size for image in page.images] == [(40, 20)]

    # --- the customer's page: on the app's domain (CloudFront sends /i/* to this function) ----
    hosted = urllib.parse.urlsplit(invoice["hosted_invoice_url"])
    assert f"{hosted.scheme}://{hosted.netloc}" == f"https://{APP_DOMAIN}"
    stack.run_as("ApiFunction")
    page = api_handler(
        function_url_event("GET", hosted.path, domain=APP_DOMAIN, source_ip="198.51.100.1"),
        LocalContext("hosted-1"),
    )
    assert page["statusCode"] == 200 and invoice["number"] in page["body"]
    assert page["headers"]["X-Robots-Tag"].startswith("noindex")
    viewed = ok(api, stack, "invoice.get", key, invoice_id=invoice["id"])
    assert viewed["viewed_at"] and viewed["version"] == invoice["version"] + 1
    invoice = viewed

    # --- presigned download over HTTP -------------------------------------------------------
    link = ok(api, stack, "invoice.pdf", key, invoice_id=invoice["id"])
    assert link["url"].startswith(f"{stack.endpoint}/{stack.bucket}/blobs/")
    assert "X-Amz-Signature=" in link["url"]
    download = requests.get(link["url"], timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="{invoice["number"]}.pdf"'
    )
    assert download.content.startswith(b"%PDF-")
    assert hashlib.sha256(download.content).hexdigest() == sha256

    # --- the daily overdue run (scheduled event), a week after the due date ----------------
    from functions.overdue.handler import lambda_handler as overdue_handler

    run_day = date.fromisoformat(invoice["due_date"]) + timedelta(days=7)
    event = {"time": f"{run_day.isoformat()}T07:00:00Z", "source": "aws.scheduler"}
    stack.run_as("OverdueFunction")
    counts = overdue_handler(event, LocalContext("overdue-1"))["jobs"]["overdue"]
    assert counts["marked_overdue"] == 1
    assert counts["reminders_sent"] == 1

    after = ok(api, stack, "invoice.get", key, invoice_id=invoice["id"])
    assert after["status"] == "overdue"
    timeline = ok(api, stack, "invoice.timeline", key, invoice_id=invoice["id"])["events"]
    types = [e["type"] for e in timeline]
    assert types.count("finalized") == 1
    assert types.count("pdf_rendered") == 1
    assert types.count("overdue") == 1
    assert types.count("reminder_sent") == 1
    (reminder,) = stack.mails_to(client_email)
    assert invoice["number"] in reminder["Subject"]
    assert invoice["hosted_invoice_url"] in text_of(reminder)  # the overdue function's link
    attachments = list(reminder.iter_attachments())
    assert [a.get_content() for a in attachments] == [download.content]

    # --- a second run the same day changes and sends nothing ---------------------------------
    stack.run_as("OverdueFunction")
    again = overdue_handler(event, LocalContext("overdue-2"))["jobs"]["overdue"]
    assert again["marked_overdue"] == 0
    assert again["reminders_sent"] == 0
    assert len(stack.mails_to(client_email)) == 1
    final = ok(api, stack, "invoice.get", key, invoice_id=invoice["id"])
    assert final["version"] == after["version"]


def test_api_refuses_to_start_mail_without_ses_settings(stack: Deployment, monkeypatch):
    """In Lambda, a missing mail setting is an error, never a silent local outbox."""
    stack.run_as("ApiFunction")
    monkeypatch.delenv("BILLOW_MAIL_TRANSPORT")
    status, body = _login_without_env_switch(stack, "x@example.com")
    assert status == 503, body
    assert body["error"]["code"] == "mail_not_configured"
    assert stack.mails_to("x@example.com") == []


def _login_without_env_switch(stack: Deployment, email_address: str) -> tuple[int, dict]:
    event = function_url_event(
        "POST",
        "/api",
        body=json.dumps({"action": "auth.login", "email": email_address}),
        headers={"content-type": "application/json"},
    )
    result = api_handler(event, LocalContext(uuid.uuid4().hex))
    return result["statusCode"], json.loads(result["body"])


# --- the API invoking the PDF function, as deployed ------------------------------------------


class LambdaLookalike:
    """A loopback stand-in for the Lambda Invoke API (``POST /2015-03-31/functions/<name>/
    invocations``) that runs the named function's real handler, so that the API's invoke of
    the PDF function (payload, answer, error flag) is exercised as deployed. The handler runs
    in this process, with the caller's environment: both functions get the same store URL."""

    def __init__(self, handlers: dict[str, Callable[[Any, Any], Any]]) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.handlers = handlers
        self.invocations: list[tuple[str, Any]] = []
        lookalike = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                match = re.fullmatch(r"/2015-03-31/functions/([^/]+)/invocations", self.path)
                name = urllib.parse.unquote(match.group(1)) if match else ""
                length = int(self.headers.get("Content-Length") or 0)
                event = json.loads(self.rfile.read(length) or b"null")
                headers = {"Content-Type": "application/json"}
                if name not in lookalike.handlers:
                    status = 404
                    body: Any = {"Type": "User", "message": f"Function not found: {name}"}
                    headers["x-amzn-ErrorType"] = "ResourceNotFoundException"
                else:
                    lookalike.invocations.append((name, event))
                    status = 200
                    try:
                        body = lookalike.handlers[name](event, LocalContext(uuid.uuid4().hex))
                    except Exception as exc:
                        body = {"errorMessage": str(exc), "errorType": type(exc).__name__}
                        headers["X-Amz-Function-Error"] = "Unhandled"
                payload = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LambdaLookalike:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def test_finalize_has_the_pdf_function_render_the_pdf(stack: Deployment, monkeypatch):
    import functions.pdf.handler
    from functions.pdf.handler import lambda_handler as pdf_handler

    # The handler keeps its store for the life of the process (a Lambda container): start with
    # none, so it opens this stack's, and leave none behind for other tests.
    monkeypatch.setattr(functions.pdf.handler, "_store", None)

    with LambdaLookalike({f"{STACK}-pdf": pdf_handler}) as lambda_api:
        call = functools.partial(api, stack, lambda_endpoint=lambda_api.endpoint)
        email_address = f"bea-{uuid.uuid4().hex[:8]}@example.com"
        ok(call, "auth.login", email=email_address)
        (mail,) = stack.mails_to(email_address)
        token = re.search(r"[?&]token=([A-Za-z0-9_\-]+)", text_of(mail)).group(1)
        key = ok(call, "auth.verify", token=token)["key"]
        entity = ok(
            call,
            "entity.create",
            key,
            name="Acme GmbH",
            address={
                "line1": "Hauptstr. 1",
                "postal_code": "10115",
                "city": "Berlin",
                "country": "DE",
            },
            vat_number="DE136695976",
            default_vat_rate="19",
            bank={"iban": "DE89370400440532013000", "bic": "DEUTDEFF"},
        )
        client = ok(
            call,
            "client.create",
            key,
            name="Kunde AG",
            address={
                "line1": "Markt 5",
                "postal_code": "80331",
                "city": "München",
                "country": "DE",
            },
        )
        draft = ok(
            call,
            "invoice.create",
            key,
            entity_id=entity["id"],
            client_id=client["id"],
            lines=[{"description": "Workshop", "quantity": "1", "unit_price": "950.00"}],
        )
        invoice = ok(call, "invoice.finalize", key, invoice_id=draft["id"])

        ((name, event),) = lambda_api.invocations  # the API invoked the PDF function once
        assert name == f"{STACK}-pdf"
        assert event["invoice"]["id"] == invoice["id"]
        (blob_key,) = stack.blob_keys()
        assert blob_key.endswith(f"{invoice['pdf']['sha256']}.pdf")
        timeline = ok(call, "invoice.timeline", key, invoice_id=invoice["id"])["events"]
        assert [e["type"] for e in timeline].count("pdf_rendered") == 1


def test_verify_vat_has_the_vies_function_ask_vies(stack: Deployment, vies):
    """client.verify_vat → Lambda invoke of the VIES function → VIES (a loopback look-alike)."""
    from functions.vies.handler import lambda_handler as vies_handler
    from tests.vies.conftest import valid_answer

    vies.answer_with((200, valid_answer("NL", "004495445B01", name="GLOBEX BV")))
    with LambdaLookalike({f"{STACK}-vies": vies_handler}) as lambda_api:
        call = functools.partial(api, stack, lambda_endpoint=lambda_api.endpoint)
        # The VIES function runs in this process with the API's environment: point it at the
        # look-alike (the template leaves BILLOW_VIES_URL unset: the EU's service).
        stack.test_env["BILLOW_VIES_URL"] = vies.url
        email_address = f"cem-{uuid.uuid4().hex[:8]}@example.com"
        ok(call, "auth.login", email=email_address)
        (mail,) = stack.mails_to(email_address)
        token = re.search(r"[?&]token=([A-Za-z0-9_\-]+)", text_of(mail)).group(1)
        key = ok(call, "auth.verify", token=token)["key"]
        ok(
            call,
            "entity.create",
            key,
            name="Acme GmbH",
            address={
                "line1": "Hauptstr. 1",
                "postal_code": "10115",
                "city": "Berlin",
                "country": "DE",
            },
            vat_number="DE136695976",
            default_vat_rate="19",
        )
        client = ok(
            call,
            "client.create",
            key,
            name="Globex BV",
            address={
                "line1": "Damrak 1",
                "postal_code": "1012 LG",
                "city": "Amsterdam",
                "country": "NL",
            },
            vat_number="NL004495445B01",
        )
        checked = ok(call, "client.verify_vat", key, client_id=client["id"])

    assert checked["vat_verification"]["status"] == "valid"
    ((name, event),) = lambda_api.invocations
    assert name == f"{STACK}-vies"
    assert event["vat_number"].endswith("004495445B01")
    assert len(vies.requests) == 1


def test_daily_run_issues_recurring_invoices_through_the_pdf_function(
    stack: Deployment, monkeypatch
):
    """The scheduled daily function, configured as deployed, issues an auto-advance schedule's
    due period: finalized in the issuing commit, its PDF rendered by the PDF function, mailed
    through SES; the rerun the same day issues and sends nothing."""
    import functions.pdf.handler
    from functions.overdue.handler import lambda_handler as daily_handler
    from functions.pdf.handler import lambda_handler as pdf_handler

    monkeypatch.setattr(functions.pdf.handler, "_store", None)
    with LambdaLookalike({f"{STACK}-pdf": pdf_handler}) as lambda_api:
        call = functools.partial(api, stack, lambda_endpoint=lambda_api.endpoint)
        email_address = f"cem-{uuid.uuid4().hex[:8]}@example.com"
        ok(call, "auth.login", email=email_address)
        (mail,) = stack.mails_to(email_address)
        token = re.search(r"[?&]token=([A-Za-z0-9_\-]+)", text_of(mail)).group(1)
        key = ok(call, "auth.verify", token=token)["key"]
        entity = ok(
            call,
            "entity.create",
            key,
            name="Acme GmbH",
            address={
                "line1": "Hauptstr. 1",
                "postal_code": "10115",
                "city": "Berlin",
                "country": "DE",
            },
            vat_number="DE136695976",
            default_vat_rate="19",
            bank={"iban": "DE89370400440532013000", "bic": "DEUTDEFF"},
        )
        client_email = f"ap-{uuid.uuid4().hex[:8]}@kunde.example"
        client = ok(
            call,
            "client.create",
            key,
            name="Kunde AG",
            email=client_email,
            address={
                "line1": "Markt 5",
                "postal_code": "80331",
                "city": "München",
                "country": "DE",
            },
        )
        schedule = ok(
            call,
            "recurring.create",
            key,
            entity_id=entity["id"],
            client_id=client["id"],
            lines=[{"description": "Wartung", "quantity": "1", "unit_price": "300.00"}],
            interval="month",
            start_date="2027-01-31",
            auto_advance=True,
        )

        event = {"time": "2027-03-01T07:00:00Z", "source": "aws.scheduler"}  # Jan 31 and Feb 28
        stack.run_as("OverdueFunction", lambda_api.endpoint)
        counts = daily_handler(event, LocalContext("daily-1"))["jobs"]["recurring"]
        assert (counts["issued"], counts["finalized"], counts["sent"]) == (2, 2, 2)
        stack.run_as("OverdueFunction", lambda_api.endpoint)
        again = daily_handler(event, LocalContext("daily-2"))["jobs"]["recurring"]
        assert (again["issued"], again["sent"]) == (0, 0)

        invoices = ok(call, "invoice.list", key, sort_by="number", sort_order="asc")["items"]
        assert [(i["number"], i["status"], i["period"]) for i in invoices] == [
            ("INV-2027-0001", "sent", {"start": "2027-01-31", "end": "2027-02-27"}),
            ("INV-2027-0002", "sent", {"start": "2027-02-28", "end": "2027-03-30"}),
        ]
        assert {i["recurring_id"] for i in invoices} == {schedule["id"]}
        assert sorted(e["invoice"]["id"] for _, e in lambda_api.invocations) == sorted(
            i["id"] for i in invoices
        )
        assert len(stack.mails_to(client_email)) == 2
        after = ok(call, "recurring.get", key, recurring_id=schedule["id"])
        assert (after["next_date"], after["issued_count"]) == ("2027-03-31", 2)
