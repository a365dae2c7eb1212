"""``infra/deploy.sh``'s publishing step, run for real with the AWS CLI against moto.

The build and deploy steps need SAM and a real account; with ``SKIP_BUILD=1 SKIP_DEPLOY=1``
the script does what follows them: it reads the stack's outputs, uploads ``frontend/`` to
``s3://<bucket>/app/`` with a generated ``config.json`` pointing at the Function URL, deletes
files no longer in ``frontend/``, and invalidates the CloudFront distribution. Here the "stack"
is a CloudFormation stack in moto whose outputs name a moto bucket and distribution.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import boto3
import pytest

from tests.aws.template_model import ROOT
from tests.support.moto_server import REGION

pytestmark = [pytest.mark.aws, pytest.mark.slow]

FUNCTION_URL = "https://abcdefghijklmnop.lambda-url.eu-central-1.on.aws/"


def test_publish_uploads_the_app_with_its_config_and_invalidates(moto_endpoint, tmp_path):
    if shutil.which("aws") is None:
        pytest.skip("the AWS CLI is not installed")

    def client(service: str):
        return boto3.client(service, region_name=REGION, endpoint_url=moto_endpoint)

    suffix = uuid.uuid4().hex[:10]
    bucket, stack = f"billow-app-{suffix}", f"billow-{suffix}"
    s3 = client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="app/js/removed-since.js", Body=b"// stale")
    s3.put_object(Bucket=bucket, Key="blobs/pdf/inv_1/abc.pdf", Body=b"%PDF-")
    distribution = client("cloudfront").create_distribution(
        DistributionConfig={
            "CallerReference": suffix,
            "Comment": "billow test",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "app",
                        "DomainName": f"{bucket}.s3.{REGION}.amazonaws.com",
                        "OriginPath": "/app",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "app",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )["Distribution"]
    outputs = {
        "BucketName": bucket,
        "ApiFunctionUrl": FUNCTION_URL,
        "DistributionId": distribution["Id"],
        "AppUrl": f"https://{distribution['DomainName']}",
    }
    client("cloudformation").create_stack(
        StackName=stack,
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": stack}}
                },
                "Outputs": {k: {"Value": v} for k, v in outputs.items()},
            }
        ),
    )

    env = {
        **os.environ,
        "SKIP_BUILD": "1",
        "SKIP_DEPLOY": "1",
        "BILLOW_STACK": stack,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "PYTHON": sys.executable,
    }
    result = subprocess.run(
        ["bash", str(ROOT / "infra" / "deploy.sh")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # the script finds the project itself
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"App:  {outputs['AppUrl']}" in result.stdout

    listing = s3.list_objects_v2(Bucket=bucket, Prefix="app/")
    keys = {o["Key"] for o in listing.get("Contents", [])}
    expected = {
        "app/" + p.relative_to(ROOT / "frontend").as_posix()
        for p in (ROOT / "frontend").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }
    assert keys == expected  # config.json included (generated), the stale file deleted
    assert "app/js/removed-since.js" not in keys
    # blobs/ is not touched by the app upload
    assert s3.get_object(Bucket=bucket, Key="blobs/pdf/inv_1/abc.pdf")["Body"].read() == b"%PDF-"

    config = s3.get_object(Bucket=bucket, Key="app/config.json")
    assert json.loads(config["Body"].read()) == {"apiUrl": f"{FUNCTION_URL}api"}
    assert config["ContentType"] == "application/json"
    assert config["CacheControl"] == "no-cache"
    index = s3.get_object(Bucket=bucket, Key="app/index.html")
    assert index["Body"].read() == (ROOT / "frontend" / "index.html").read_bytes()
    assert index["ContentType"].startswith("text/html")

    invalidations = client("cloudfront").list_invalidations(DistributionId=distribution["Id"])
    (item,) = invalidations["InvalidationList"]["Items"]
    detail = client("cloudfront").get_invalidation(DistributionId=distribution["Id"], Id=item["Id"])
    assert detail["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/*"]

    # the hosted-link key: a SecureString of 32 random bytes, made once and then left alone
    ssm = client("ssm")
    name = f"/{stack}/link-key"
    parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    from functions.hosted.keys import _decode_key

    key = _decode_key(parameter["Value"], name)
    assert len(key) == 32
    again = subprocess.run(
        ["bash", str(ROOT / "infra" / "deploy.sh")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert (
        ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        == (parameter["Value"])
    )
