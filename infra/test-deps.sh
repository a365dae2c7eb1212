#!/usr/bin/env bash
# Installs what the test suite needs outside the Python lock file:
# - Debian's Chromium (browser tests drive it through Playwright) and poppler-utils (pdftoppm turns
#   PDF pages into PNG), only when missing and only where we can (root or passwordless sudo);
# - the AWS CLI (tests/aws/test_deploy_script.py runs infra/deploy.sh's upload step against moto),
#   in its own virtualenv under $VENV/awscli so its botocore pin cannot disturb the project's.
#   It must honour AWS_ENDPOINT_URL (CLI v1 >= 1.29), which Debian's awscli 2.9 does not.
# Without BILLOW_CI the tests that need a missing tool say why they skip; with BILLOW_CI=1 (set by
# .ci/run) anything that cannot be installed is an error, because CI must run every test.
set -u
VENV="${VENV:-.venv}"
AWSCLI_VERSION="1.45.11"
strict="${BILLOW_CI:-}"

fail() {
  echo "test-deps: $*" >&2
  if [ -n "$strict" ]; then exit 1; fi
  exit 0
}

if ! command -v aws >/dev/null 2>&1 && ! [ -x "$VENV/awscli/bin/aws" ]; then
  echo "test-deps: installing the AWS CLI $AWSCLI_VERSION into $VENV/awscli"
  { "$VENV/bin/python" -m venv "$VENV/awscli" &&
    "$VENV/awscli/bin/python" -m pip install -q --disable-pip-version-check \
      "awscli==$AWSCLI_VERSION"; } || fail "could not install the AWS CLI"
fi

need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else
  fail "cannot install ${need[*]} (not root, no sudo); those tests will skip"
fi
echo "test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null || echo "test-deps: apt-get update failed" >&2
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
