#!/usr/bin/env bash
# `make deploy`: build and deploy Billow to AWS with SAM, then publish the browser app.
#
#   1. sam build            the shared layer (infra/lambda/Makefile) and the four functions
#   2. sam deploy           --guided the first time (asks for the stack name, region and the SES
#                           identity, and saves the answers to samconfig.toml); plain afterwards
#   3. frontend/ -> s3://<bucket>/app/ with a generated config.json whose apiUrl is the API
#      function's URL, then a CloudFront invalidation so browsers get the new files
#
# Needs: AWS SAM CLI, AWS CLI (v2 or a recent v1), credentials for the target account (AWS_PROFILE etc.).
# Options (environment): SAM_CONFIG_ENV (default "default"), SAM_DEPLOY_ARGS (extra arguments
# for sam deploy, e.g. "--no-confirm-changeset"), SKIP_BUILD=1, SKIP_DEPLOY=1 (app upload only).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CONFIG_ENV=${SAM_CONFIG_ENV:-default}

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'deploy: %s\n' "$*" >&2; exit 1; }

need_sam() {
    command -v sam >/dev/null ||
        die "AWS SAM CLI not found: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html"
}
command -v aws >/dev/null ||
    die "AWS CLI not found: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"

# The layer's Makefile downloads Lambda (arm64) wheels with pip: any Python 3 with pip will do,
# the project's virtualenv if there is one.
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
export PYTHON BILLOW_ROOT="$ROOT"

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
    need_sam
    say "sam build"
    sam build --template-file template.yaml
fi

# A deploy section in samconfig.toml means the guided questions were answered before.
has_config() {
    [[ -f samconfig.toml ]] && grep -Eq "^\[${CONFIG_ENV}\.deploy(\.parameters)?\]" samconfig.toml
}

if [[ "${SKIP_DEPLOY:-}" != 1 ]]; then
    need_sam
    say "sam deploy"
    # shellcheck disable=SC2086  # SAM_DEPLOY_ARGS is a list of words
    if has_config; then
        sam deploy --config-env "$CONFIG_ENV" ${SAM_DEPLOY_ARGS:-}
    else
        echo "First deployment: answer the questions, and say yes to saving them to samconfig.toml."
        echo "Parameters: SesIdentity = a verified SES identity (domain or address);"
        echo "            MailFrom    = \"Your Name <billing@that-domain>\"."
        sam deploy --guided --config-env "$CONFIG_ENV" ${SAM_DEPLOY_ARGS:-}
    fi
fi

# Stack name and region as saved by the guided deploy (overridable from the environment).
read_config() {
    "$PYTHON" - "$CONFIG_ENV" "$1" <<'EOF'
import sys, tomllib
env, key = sys.argv[1], sys.argv[2]
try:
    with open("samconfig.toml", "rb") as f:
        config = tomllib.load(f)
except FileNotFoundError:
    sys.exit(0)
for command in ("deploy", "global"):
    value = config.get(env, {}).get(command, {}).get("parameters", {}).get(key)
    if value:
        print(value)
        break
EOF
}
STACK=${BILLOW_STACK:-$(read_config stack_name)}
REGION=${AWS_REGION:-$(read_config region)}
[[ -n "$STACK" ]] || die "no stack name: set BILLOW_STACK or deploy with --guided once"
REGION_ARGS=()
[[ -n "$REGION" ]] && REGION_ARGS=(--region "$REGION")

# The key hosted-page links (/i/<token>) are derived from: an SSM SecureString, which
# CloudFormation cannot create. Made once and never replaced: a new key would break every link
# customers hold. The value travels through a pipe, never on a command line.
LINK_KEY="/$STACK/link-key"
if ! aws ssm get-parameter "${REGION_ARGS[@]}" --name "$LINK_KEY" --query Parameter.Name \
    --output text >/dev/null 2>&1; then
    say "creating the hosted-link key $LINK_KEY (SSM SecureString)"
    "$PYTHON" -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())' |
        aws ssm put-parameter "${REGION_ARGS[@]}" --name "$LINK_KEY" --type SecureString \
            --value file:///dev/stdin --query Version --output text >/dev/null
fi

output() {
    aws cloudformation describe-stacks "${REGION_ARGS[@]}" --stack-name "$STACK" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
BUCKET=$(output BucketName)
FUNCTION_URL=$(output ApiFunctionUrl)
DISTRIBUTION=$(output DistributionId)
APP_URL=$(output AppUrl)
[[ -n "$BUCKET" && "$BUCKET" != None ]] || die "stack $STACK has no BucketName output"

say "uploading frontend/ to s3://$BUCKET/app/"
# Files keep their names across releases, so browsers revalidate them (cheap 304s) rather than
# cache them blindly. config.json is generated below, never taken from the working tree.
aws s3 sync "${REGION_ARGS[@]}" frontend/ "s3://$BUCKET/app/" --delete \
    --exclude config.json --exclude '.*' --cache-control "no-cache"
printf '{"apiUrl": "%sapi"}\n' "${FUNCTION_URL%/}/" |
    aws s3 cp "${REGION_ARGS[@]}" - "s3://$BUCKET/app/config.json" \
        --content-type application/json --cache-control "no-cache"

say "invalidating CloudFront distribution $DISTRIBUTION"
aws cloudfront create-invalidation --distribution-id "$DISTRIBUTION" --paths '/*' \
    --query Invalidation.Id --output text

say "done"
echo "App:  $APP_URL"
echo "API:  ${FUNCTION_URL%/}/api   (health: ${FUNCTION_URL%/}/health)"
