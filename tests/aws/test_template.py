"""``template.yaml`` against the code it deploys.

Every Handler imports; every environment variable the code reads is set (or has a listed safe
default); every role grants exactly what its function's code touches — the table and the indexes
it queries, the bucket prefix it reads or writes, the SES identity, the functions it invokes —
and nothing more; ``cfn-lint`` is clean.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.aws.template_model import (
    ROOT,
    TEMPLATE,
    Resolver,
    env_names_read,
    function_properties,
    functions,
    load_template,
    module_closure,
    resources_of_type,
    store_use,
)

ACCOUNT = "123456789012"
REGION = "eu-central-1"
STACK = "billow"
TABLE = "billow-Table-1ABC"
BUCKET = "billow-bucket-1abc"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
APP_DOMAIN = "d111111abcdef8.cloudfront.net"
SES_IDENTITY = "acme.example"
SES_IDENTITY_ARN = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{SES_IDENTITY}"

#: Set in every Lambda execution environment by the runtime itself.
LAMBDA_PROVIDED = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME"}

#: Read by the code but deliberately not set in AWS: unset is the safe, intended behaviour there.
SAFE_DEFAULTS = {
    "BILLOW_DATA_DIR": "local data folder (SQLite file, mail outbox); unused with a dynamodb:// "
    "store URL and SES mail",
    "BILLOW_SMTP_URL": "the SMTP alternative to SES; unset selects BILLOW_MAIL_TRANSPORT=ses",
    "BILLOW_SES_ENDPOINT_URL": "endpoint override for tests (moto); unset means the real SES",
    "BILLOW_SES_CONFIGURATION_SET": "optional SES configuration set; none by default",
    "BILLOW_VIES_URL": "endpoint override for tests; unset means the EU's VIES service",
    "POWERTOOLS_TRACE_DISABLED": "set by the API handler outside Lambda only",
    "POWERTOOLS_METRICS_DISABLED": "set by the API handler outside Lambda only",
    "BILLOW_WEBHOOK_SEAL_KEY": "the local sealer of billow serve; with BILLOW_WEBHOOK_KMS_KEY_ID "
    "set (AWS) secrets are sealed with KMS and it is not read",
    "BILLOW_WEBHOOK_SEAL_KEYS_OLD": "older local seal keys (billow serve only, as above)",
    "BILLOW_WEBHOOKS_ALLOW_LOCAL": "development and tests only; unset refuses http:// and "
    "loopback webhook URLs",
    "BILLOW_LINK_KEY": "the hosted-link key given directly (local use); AWS reads the SSM "
    "SecureString named by BILLOW_LINK_KEY_PARAMETER",
    "BILLOW_HOSTED_URL": "another origin for hosted links; unset means BILLOW_PUBLIC_URL, whose "
    "CloudFront distribution routes /i/* to the API function",
}

#: Powertools configuration every function carries.
POWERTOOLS_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}

#: The DynamoDB calls the adapter makes at run time and the IAM actions they need.
#: ``TransactWriteItems`` has no action of its own: its Put/Delete/ConditionCheck items do.
DYNAMODB_CALLS = {
    "get_item": {"dynamodb:GetItem"},
    "query": {"dynamodb:Query"},
    "transact_write_items": {
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    },
}
#: Set-up calls for development and tests; production tables come from the template.
DYNAMODB_SETUP_CALLS = {"create_table", "get_waiter", "update_time_to_live"}
S3_CALLS = {"put_object": {"s3:PutObject"}, "get_object": {"s3:GetObject"}}
S3_SETUP_CALLS = {"create_bucket", "generate_presigned_url"}  # presigning is local signing

TRACING_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resolve(template: dict[str, Any]) -> Resolver:
    values = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::StackName": STACK,
        "Table": TABLE,
        "Table.Arn": TABLE_ARN,
        "Bucket": BUCKET,
        "Bucket.Arn": BUCKET_ARN,
        "Bucket.RegionalDomainName": f"{BUCKET}.s3.{REGION}.amazonaws.com",
        "AppDistribution": "E2ABCDEF123456",
        "AppDistribution.DomainName": APP_DOMAIN,
        "AppOriginAccessControl.Id": "E3OAC",
        "BillowLayer": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:billow-billow:1",
        "SesIdentity": SES_IDENTITY,
        "MailFrom": f"Acme Billing <billing@{SES_IDENTITY}>",
        "SesRegion": "",
        "LogLevel": "INFO",
        "LogRetentionDays": "30",
        "WebhookSecretsKey.Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-webhooks",
        "Table.StreamArn": f"{TABLE_ARN}/stream/2026-12-01T00:00:00.000",
        "WebhookRetryScheduleGroup": f"{STACK}-webhook-retries",
        "EdgeSecret": "edge-secret-for-tests",
    }
    for queue in ("WebhookQueue", "PdfJobQueue"):
        values[queue] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-{queue}"
        values[f"{queue}.Arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK}-{queue}"
    for logical_id, resource in functions(template).items():
        name = Resolver(values)(resource["Properties"]["FunctionName"])
        values[logical_id] = name
        values[f"{logical_id}.Arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    for logical_id, resource in resources_of_type(template, "AWS::Logs::LogGroup").items():
        name = Resolver(values)(resource["Properties"]["LogGroupName"])
        values[f"{logical_id}.Arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
    for logical_id in resources_of_type(template, "AWS::IAM::Role"):
        values[f"{logical_id}.Arn"] = f"arn:aws:iam::{ACCOUNT}:role/{STACK}-{logical_id}-X"
    return Resolver(values, {"SesInStackRegion": True, "HasEdgeSecret": True})


def handler_module(props: dict[str, Any]) -> tuple[str, str]:
    module, _, attr = props["Handler"].rpartition(".")
    return module, attr


def function_env(template: dict[str, Any], resolve: Resolver, logical_id: str) -> dict[str, str]:
    props = function_properties(template, logical_id)
    return resolve(props["Environment"]["Variables"])


def closure_of(template: dict[str, Any], resolve: Resolver, logical_id: str) -> frozenset[str]:
    """The modules a function runs. A function that has PDFs rendered by the PDF function
    (``BILLOW_PDF_FUNCTION``) does not run the in-process renderer."""
    props = function_properties(template, logical_id)
    env = function_env(template, resolve, logical_id)
    exclude = frozenset({"functions.pdf"} if env.get("BILLOW_PDF_FUNCTION") else set())
    module, _ = handler_module(props)
    return module_closure(module, exclude)


# --- functions -----------------------------------------------------------------------------------


ALL_FUNCTIONS = [
    "ApiFunction",
    "PdfFunction",
    "OverdueFunction",
    "ViesFunction",
    "OutboxFunction",
    "WebhookDeliveryFunction",
]


def test_the_six_functions_exist(template):
    handlers = {function_properties(template, k)["Handler"] for k in functions(template)}
    assert handlers == {
        "functions.api.handler.lambda_handler",
        "functions.pdf.handler.lambda_handler",
        "functions.overdue.handler.lambda_handler",
        "functions.vies.handler.lambda_handler",
        "functions.webhooks.aws_outbox.outbox_handler",
        "functions.webhooks.aws_delivery.delivery_handler",
    }


@pytest.mark.parametrize("logical_id", ALL_FUNCTIONS)
def test_handler_resolves_to_an_importable_function(template, logical_id):
    module, attr = handler_module(function_properties(template, logical_id))
    handler = getattr(importlib.import_module(module), attr, None)
    assert callable(handler), f"{module}.{attr} is not a function"


def test_functions_run_python_312_on_arm64_with_the_shared_layer(template):
    for logical_id in functions(template):
        props = function_properties(template, logical_id)
        assert props["Runtime"] == "python3.12", logical_id
        assert props["Architectures"] == ["arm64"], logical_id
        assert props["Layers"] == [{"Ref": "BillowLayer"}], logical_id
        assert template["Resources"][logical_id]["Metadata"]["BuildMethod"] == "makefile"
    layer = template["Resources"]["BillowLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]


def test_every_build_target_exists_in_the_makefile(template):
    """``sam build`` runs ``make build-<LogicalId>`` with the Makefile found in CodeUri."""
    targets: set[str] = set()
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind == "AWS::Serverless::LayerVersion":
            code_dir = resource["Properties"]["ContentUri"]
        elif kind == "AWS::Serverless::Function":
            code_dir = function_properties(template, logical_id)["CodeUri"]
        else:
            continue
        makefile = ROOT / code_dir / "Makefile"
        assert makefile.is_file(), f"{logical_id}: no Makefile in {code_dir}"
        text = makefile.read_text()
        targets.add(logical_id)
        assert re.search(rf"^(?:[\w-]+ )*build-{logical_id}\b[^\n]*:", text, re.M), logical_id
    assert targets == {"BillowLayer", *functions(template)}


def test_powertools_and_log_groups_with_retention(template, resolve):
    services = set()
    log_groups = {
        resolve(r["Properties"]["LogGroupName"]): (logical_id, r)
        for logical_id, r in resources_of_type(template, "AWS::Logs::LogGroup").items()
    }
    for logical_id in functions(template):
        env = function_env(template, resolve, logical_id)
        assert POWERTOOLS_ENV <= set(env), logical_id
        services.add(env["POWERTOOLS_SERVICE_NAME"])
        name = resolve(template["Resources"][logical_id]["Properties"]["FunctionName"])
        group_id, group = log_groups.pop(f"/aws/lambda/{name}")
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        # the function logs into that group (and so is created after it)
        props = function_properties(template, logical_id)
        assert props["LoggingConfig"]["LogGroup"] == {"Ref": group_id}
    assert len(services) == len(ALL_FUNCTIONS)  # one service name per function
    assert not log_groups  # no log group without a function


# --- environment ---------------------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", ALL_FUNCTIONS)
def test_every_environment_variable_the_code_reads_is_set(template, resolve, logical_id):
    env = function_env(template, resolve, logical_id)
    read = env_names_read(closure_of(template, resolve, logical_id))
    missing = {
        name: sorted(modules)
        for name, modules in read.items()
        if name not in env and name not in LAMBDA_PROVIDED and name not in SAFE_DEFAULTS
    }
    assert not missing, f"{logical_id} reads unset variables: {missing}"
    # ... and the template sets no Billow variable that the function never reads.
    stale = {n for n in env if n.startswith("BILLOW_") and n not in read}
    assert not stale, f"{logical_id} sets variables its code never reads: {stale}"


def test_store_url_names_the_templates_table_and_bucket(template, resolve):
    from storage_adapter import open_store

    for logical_id in ("ApiFunction", "PdfFunction", "OverdueFunction"):
        url = function_env(template, resolve, logical_id)["BILLOW_STORE_URL"]
        parsed = urllib.parse.urlparse(url)
        assert parsed.scheme == "dynamodb"
        assert parsed.netloc == TABLE
        assert dict(urllib.parse.parse_qsl(parsed.query)) == {"bucket": BUCKET, "region": REGION}
        store = open_store(url)  # no network: clients are made on first use
        assert (store.table, store.bucket, store.region) == (TABLE, BUCKET, REGION)


def test_api_invokes_the_pdf_and_vies_functions_and_mails_through_ses(template, resolve):
    env = function_env(template, resolve, "ApiFunction")
    assert env["BILLOW_PDF_FUNCTION"] == f"{STACK}-pdf"
    assert env["BILLOW_VIES_FUNCTION"] == f"{STACK}-vies"
    assert env["BILLOW_PUBLIC_URL"] == f"https://{APP_DOMAIN}"
    for logical_id in ("ApiFunction", "OverdueFunction"):
        env = function_env(template, resolve, logical_id)
        assert env["BILLOW_MAIL_TRANSPORT"] == "ses"
        assert env["BILLOW_MAIL_FROM"].endswith(f"@{SES_IDENTITY}>")
        assert env["BILLOW_SES_REGION"] == REGION


def test_the_mail_settings_are_accepted_by_the_mail_transport(template, resolve):
    from functions.mail.transport import SesMailer, get_mailer

    env = {**function_env(template, resolve, "OverdueFunction"), "AWS_LAMBDA_FUNCTION_NAME": "x"}
    mailer = get_mailer(env=env)
    assert isinstance(mailer, SesMailer)
    assert mailer.region == REGION


# --- API endpoint, schedule ----------------------------------------------------------------------


def test_function_url_is_public_with_cors_for_the_app_origin_only(template, resolve):
    url = template["Resources"]["ApiFunction"]["Properties"]["FunctionUrlConfig"]
    assert url["AuthType"] == "NONE"
    cors = resolve(url["Cors"])
    assert cors["AllowOrigins"] == [f"https://{APP_DOMAIN}"]
    assert set(cors["AllowMethods"]) == {"GET", "POST"}
    assert {h.lower() for h in cors["AllowHeaders"]} == {
        "authorization",
        "content-type",
        "idempotency-key",
    }
    permission = template["Resources"]["ApiFunctionUrlInvokePermission"]["Properties"]
    assert permission["InvokedViaFunctionUrl"] is True
    assert permission["FunctionName"] == {"Ref": "ApiFunction"}


def test_overdue_runs_daily_at_seven_utc(template):
    events = template["Resources"]["OverdueFunction"]["Properties"]["Events"]
    (event,) = events.values()
    assert event["Type"] == "ScheduleV2"
    assert event["Properties"]["ScheduleExpression"] == "cron(0 7 * * ? *)"
    assert event["Properties"]["ScheduleExpressionTimezone"] == "UTC"
    # the only other triggers: the outbox's stream and queues (no scheduler of our own)
    triggers = {
        k: sorted(e["Type"] for e in template["Resources"][k]["Properties"]["Events"].values())
        for k in functions(template)
        if k != "OverdueFunction" and template["Resources"][k]["Properties"].get("Events")
    }
    assert triggers == {
        "OutboxFunction": ["DynamoDB"],
        "WebhookDeliveryFunction": ["SQS"],
        "PdfFunction": ["SQS"],
    }


def test_the_outbox_reads_only_inserted_events_and_jobs_from_the_stream(template):
    import json

    (table,) = resources_of_type(template, "AWS::DynamoDB::Table").values()
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    stream = template["Resources"]["OutboxFunction"]["Properties"]["Events"]["TableStream"]
    (flt,) = stream["Properties"]["FilterCriteria"]["Filters"]
    assert json.loads(flt["Pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"coll": {"S": ["webhook_events", "jobs"]}}},
    }
    assert stream["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    for queue in ("WebhookQueue", "PdfJobQueue"):
        props = template["Resources"][queue]["Properties"]
        assert props["RedrivePolicy"]["maxReceiveCount"] == 5, queue
        assert props["SqsManagedSseEnabled"] is True


# --- data ----------------------------------------------------------------------------------------


def test_table_mirrors_the_store_definition(template):
    from storage_adapter.dynamodb import TTL_ATTRIBUTE, create_table_definition

    (props,) = [
        r["Properties"] for r in resources_of_type(template, "AWS::DynamoDB::Table").values()
    ]
    expected = create_table_definition("unused")
    expected.pop("TableName")
    for key, value in expected.items():
        assert props[key] == value, key
    assert "TableName" not in props  # CloudFormation names it: several stacks per account
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True


def test_bucket_is_private_encrypted_and_versioned(template):
    (bucket,) = resources_of_type(template, "AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "WebsiteConfiguration" not in props


def test_cloudfront_reads_only_the_app_prefix(template, resolve):
    dist = template["Resources"]["AppDistribution"]["Properties"]["DistributionConfig"]
    origin, api = dist["Origins"]
    assert origin["OriginPath"] == "/app"
    # the only other origin is the API function, for the hosted pages (/i/*), never cached
    assert api["DomainName"]["Fn::Select"][1]["Fn::Split"][1] == {
        "Fn::GetAtt": ["ApiFunctionUrl", "FunctionUrl"]
    }
    # with EdgeSecret set, CloudFront vouches for CloudFront-Viewer-Address (see hosted.py)
    assert resolve(api["OriginCustomHeaders"]) == [
        {"HeaderName": "X-Billow-Edge", "HeaderValue": "edge-secret-for-tests"}
    ]
    (hosted,) = dist["CacheBehaviors"]
    assert (hosted["PathPattern"], hosted["TargetOriginId"]) == ("/i/*", "api")
    assert hosted["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert hosted["AllowedMethods"] == ["GET", "HEAD"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["AppOriginAccessControl", "Id"]}
    assert dist["DefaultCacheBehavior"]["ViewerProtocolPolicy"] in {
        "redirect-to-https",
        "https-only",
    }
    assert dist["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]

    (policy,) = resources_of_type(template, "AWS::S3::BucketPolicy").values()
    allows = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert resolve(allow["Resource"]) == f"{BUCKET_ARN}/app/*"
    source = resolve(allow["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert source == f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2ABCDEF123456"


# --- least privilege -----------------------------------------------------------------------------


def role_statements(template: dict[str, Any], resolve: Resolver, logical_id: str) -> list[dict]:
    props = template["Resources"][logical_id]["Properties"]
    assert "Policies" not in props, f"{logical_id}: grants belong in its role, not SAM policies"
    role_ref = props["Role"]
    assert "Fn::GetAtt" in role_ref, f"{logical_id}: Role must be the template's own role"
    role = template["Resources"][role_ref["Fn::GetAtt"][0]]["Properties"]
    assert "ManagedPolicyArns" not in role, "managed policies grant more than the code needs"
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    statements = []
    for policy in role["Policies"]:
        statements.extend(resolve(policy["PolicyDocument"]["Statement"]))
    return statements


def grants(statements: list[dict]) -> set[tuple[str, str]]:
    out = set()
    for s in statements:
        assert s["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "Condition"} & set(s), s
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        out.update((a, r) for a in actions for r in resources)
    return out


def expected_grants(template, resolve, logical_id) -> set[tuple[str, str]]:
    """What the function's code needs, derived from the code (see the module docstring)."""
    env = function_env(template, resolve, logical_id)
    closure = closure_of(template, resolve, logical_id)
    log_group = resolve({"Fn::GetAtt": [logical_id.replace("Function", "LogGroup"), "Arn"]})
    need = {("logs:CreateLogStream", log_group), ("logs:PutLogEvents", log_group)}
    need |= {(a, "*") for a in TRACING_ACTIONS}
    if "storage_adapter.dynamodb" in closure and env.get("BILLOW_STORE_URL"):
        use = store_use(closure)
        need |= {
            (a, TABLE_ARN)
            for a in (
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:ConditionCheckItem",
            )
        }
        if use.deletes:
            need.add(("dynamodb:DeleteItem", TABLE_ARN))
        if use.queries_by_account:  # by_account and the declared index slots
            from storage_adapter.dynamodb_indexes import QV_INDEX, SLOTS, slot_index

            need.add(("dynamodb:Query", f"{TABLE_ARN}/index/by_account"))
            need |= {("dynamodb:Query", f"{TABLE_ARN}/index/{slot_index(i)}") for i in range(SLOTS)}
            need.add(("dynamodb:Query", f"{TABLE_ARN}/index/{QV_INDEX}"))
            need.add(("dynamodb:BatchGetItem", TABLE_ARN))  # a search's number hits
        if use.reads_due:
            need.add(("dynamodb:Query", f"{TABLE_ARN}/index/due"))
        if use.queries_all_accounts:
            need.add(("dynamodb:Query", f"{TABLE_ARN}/index/by_collection"))
        if use.puts_blobs:
            need.add(("s3:PutObject", f"{BUCKET_ARN}/blobs/*"))
        if use.reads_blobs:
            need.add(("s3:GetObject", f"{BUCKET_ARN}/blobs/*"))
    if "functions.mail.transport" in closure and env.get("BILLOW_MAIL_TRANSPORT") == "ses":
        need |= {("ses:SendEmail", SES_IDENTITY_ARN), ("ses:SendRawEmail", SES_IDENTITY_ARN)}
    key = env.get("BILLOW_WEBHOOK_KMS_KEY_ID")
    if key and "functions.webhooks.sealing" in closure:
        if "functions.services.webhooks" in closure:  # creates endpoints: seals secrets
            need.add(("kms:Encrypt", key))
        if "functions.webhooks.worker" in closure:  # delivers: opens them
            need.add(("kms:Decrypt", key))
    if "functions.hosted.keys" in closure and env.get("BILLOW_LINK_KEY_PARAMETER"):
        name = env["BILLOW_LINK_KEY_PARAMETER"]
        need.add(("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}"))
    # the outbox's queues: sent to by what the code names, consumed by the function's trigger
    if "functions.webhooks.queue" in closure:
        for variable, queue in (
            ("BILLOW_WEBHOOK_QUEUE_URL", "WebhookQueue"),
            ("BILLOW_PDF_QUEUE_URL", "PdfJobQueue"),
        ):
            if env.get(variable):
                need.add(("sqs:SendMessage", resolve({"Fn::GetAtt": [queue, "Arn"]})))
    props = template["Resources"][logical_id]["Properties"]
    for trigger in (props.get("Events") or {}).values():
        if trigger["Type"] == "SQS":
            queue = resolve(trigger["Properties"]["Queue"])
            for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes"):
                need.add((f"sqs:{action}", queue))
        elif trigger["Type"] == "DynamoDB":
            stream = resolve(trigger["Properties"]["Stream"])
            for action in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"):
                need.add((f"dynamodb:{action}", stream))
    if env.get("BILLOW_WEBHOOK_SCHEDULE_GROUP") and "functions.webhooks.aws_delivery" in closure:
        group = env["BILLOW_WEBHOOK_SCHEDULE_GROUP"]
        need.add(
            ("scheduler:CreateSchedule", f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/*")
        )
        need.add(("iam:PassRole", env["BILLOW_WEBHOOK_SCHEDULER_ROLE_ARN"]))
    for variable, target in (
        ("BILLOW_PDF_FUNCTION", "PdfFunction"),
        ("BILLOW_VIES_FUNCTION", "ViesFunction"),
    ):
        if env.get(variable):
            need.add(("lambda:InvokeFunction", resolve({"Fn::GetAtt": [target, "Arn"]})))
    return need


@pytest.mark.parametrize("logical_id", ALL_FUNCTIONS)
def test_role_grants_what_the_code_touches_and_nothing_more(template, resolve, logical_id):
    granted = grants(role_statements(template, resolve, logical_id))
    needed = expected_grants(template, resolve, logical_id)
    assert granted - needed == set(), "granted but not needed"
    assert needed - granted == set(), "needed but not granted"


def test_no_wildcards_anywhere_in_the_roles(template, resolve):
    for logical_id in functions(template):
        for action, resource in grants(role_statements(template, resolve, logical_id)):
            assert "*" not in action, (logical_id, action)
            if resource == "*":
                # X-Ray's write actions support no resource-level permissions.
                assert action in TRACING_ACTIONS, (logical_id, action)
            else:
                assert resource.startswith("arn:aws:"), resource
                if resource.endswith("*"):  # only log streams, blob keys, retry schedules
                    assert (
                        resource.endswith(":*")
                        or resource == f"{BUCKET_ARN}/blobs/*"
                        or resource.endswith(f":schedule/{STACK}-webhook-retries/*")
                    ), resource


def test_vies_function_touches_no_data(template, resolve):
    services = {
        a.split(":")[0] for a, _ in grants(role_statements(template, resolve, "ViesFunction"))
    }
    assert services == {"logs", "xray"}


def test_iam_action_map_covers_every_call_of_the_adapter():
    """A new boto3 call in the adapter must come with its IAM action in the roles."""
    source = (ROOT / "storage_adapter" / "dynamodb.py").read_text()
    ddb = set(re.findall(r"_ddb\.(\w+)\(", source)) | set(
        re.findall(r'get_paginator\("(\w+)"\)', source)
    )
    s3 = set(re.findall(r"_s3\.(\w+)\(", source))
    assert ddb - DYNAMODB_SETUP_CALLS - {"get_paginator"} <= set(DYNAMODB_CALLS), ddb
    assert s3 - S3_SETUP_CALLS <= set(S3_CALLS), s3
    # Transactions use exactly these item kinds, which map to PutItem/DeleteItem/ConditionCheckItem.
    kinds = set(re.findall(r'"(Put|Delete|ConditionCheck|Update)": \{', source))
    assert kinds <= {"Put", "Delete", "ConditionCheck"}, kinds


def test_store_only_functions_touch_the_bucket_prefix_blobs(template, resolve):
    for logical_id in functions(template):
        for action, resource in grants(role_statements(template, resolve, logical_id)):
            if action.startswith("s3:"):
                assert resource == f"{BUCKET_ARN}/blobs/*", (logical_id, resource)


# --- cfn-lint ------------------------------------------------------------------------------------


def test_cfn_lint_is_clean():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    command = [str(cfn_lint)] if cfn_lint.exists() else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run(
        [*command, str(TEMPLATE)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_would_catch_a_broken_template(tmp_path):
    """The lint test above can fail: a template with a typo is reported."""
    broken = tmp_path / "template.yaml"
    broken.write_text(
        TEMPLATE.read_text().replace("BillingMode: PAY_PER_REQUEST", "BillingMode: FREE")
    )
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    command = [str(cfn_lint)] if cfn_lint.exists() else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run([*command, str(broken)], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "FREE" in result.stdout


# --- packaging -----------------------------------------------------------------------------------

MAKEFILE = ROOT / "infra" / "lambda" / "Makefile"
DEV_ONLY = {"pytest", "pytest-xdist", "hypothesis", "moto", "aiosmtpd", "playwright", "ruff"}


def _make(*args: str, cwd: Path) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(MAKEFILE), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_layer_carries_the_shared_code_once_without_tests_or_caches(tmp_path):
    """``make layer-code`` (part of build-BillowLayer) run from a scratch folder, as SAM does."""
    artifacts = tmp_path / "artifacts"
    _make("layer-code", f"ARTIFACTS_DIR={artifacts}", cwd=tmp_path)
    python = artifacts / "python"
    assert sorted(p.name for p in python.iterdir() if not p.name.endswith(".dist-info")) == [
        "functions",
        "storage_adapter",
    ]
    for handler in ("api", "pdf", "overdue", "vies"):
        assert (python / "functions" / handler / "handler.py").is_file()
    shipped = {p.relative_to(python).as_posix() for p in python.rglob("*")}
    assert not [p for p in shipped if "__pycache__" in p or p.endswith(".pyc")]
    assert not [p for p in shipped if p.startswith("tests") or "/tests/" in p]
    expected = {
        p.relative_to(ROOT).as_posix()
        for package in ("functions", "storage_adapter")
        for p in (ROOT / package).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert expected <= shipped
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    metadata = python / f"billow-{version}.dist-info" / "METADATA"
    assert f"Version: {version}" in metadata.read_text()


def test_layer_installs_the_runtime_lock_without_dev_dependencies(tmp_path):
    wheels = _make("layer-requirements", cwd=tmp_path).split()
    lock = [
        line.strip()
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line[:1].isalnum()
    ]
    names = {w.split("==")[0].lower() for w in wheels}
    assert "font-roboto" not in names  # source-only: installed separately with --no-deps
    assert set(wheels) | {x for x in lock if x.startswith("font-roboto==")} == set(lock)
    assert not names & DEV_ONLY
    assert {"aws-lambda-powertools", "pydantic", "reportlab"} <= names


def test_function_packages_are_only_the_stub(tmp_path, template):
    for logical_id in functions(template):
        artifacts = tmp_path / logical_id
        artifacts.mkdir()
        _make(f"build-{logical_id}", f"ARTIFACTS_DIR={artifacts}", cwd=tmp_path)
        assert [p.name for p in artifacts.iterdir()] == ["README.md"]


def test_invoked_functions_time_out_before_the_api_that_waits_for_them(template):
    api_timeout = function_properties(template, "ApiFunction")["Timeout"]
    for logical_id in ("PdfFunction", "ViesFunction"):
        assert function_properties(template, logical_id)["Timeout"] < api_timeout, logical_id
