#!/usr/bin/env bash
# The test command (README): installs what the tests need, then runs them.
#   bash tests/run.sh [pytest args...]
# Uses PostgreSQL at 127.0.0.1:5432 and Mosquitto at 127.0.0.1:1883 when they
# are running (or LIFELINE_TEST_DATABASE_URL / LIFELINE_TEST_MQTT_URL), else
# starts the embedded pgserver / amqtt itself.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}

# Debian's Chromium drives the page tests (Playwright cannot download a browser here).
if [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "installing Debian chromium for the page tests..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq chromium >/dev/null
    else
        echo "warning: /usr/bin/chromium missing and cannot apt-get it; page tests will fail" >&2
    fi
fi

"$PYTHON" -m pip install -q --disable-pip-version-check -e '.[dev]'

set +e
"$PYTHON" -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$rc"
