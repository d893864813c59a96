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

# Debian's Kamailio (the SIP edge, deploy/kamailio) and sipp (sip-tester) drive the SIP tests.
sip_tools_ok() {
    command -v kamailio >/dev/null 2>&1 && command -v sipp >/dev/null 2>&1 \
        && [ -n "$(ls /usr/lib/*/kamailio/modules/mqtt.so /usr/lib/kamailio/modules/mqtt.so 2>/dev/null)" ] \
        && [ -n "$(ls /usr/lib/*/kamailio/modules/db_postgres.so 2>/dev/null)" ] \
        && [ -n "$(ls /usr/lib/*/kamailio/modules/tls.so 2>/dev/null)" ]
}
if ! sip_tools_ok; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "installing Debian kamailio and sip-tester for the SIP tests..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq kamailio kamailio-postgres-modules kamailio-mqtt-modules \
            kamailio-tls-modules sip-tester >/dev/null
    else
        echo "warning: kamailio/sipp missing and cannot apt-get them; SIP tests will be skipped" >&2
    fi
fi

# openssl makes the test CA (deploy/make-test-ca.sh); mosquitto runs the shipped broker config.
if ! command -v openssl >/dev/null 2>&1 || [ ! -x /usr/sbin/mosquitto ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "installing Debian openssl and mosquitto for the broker and TLS tests..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq openssl mosquitto >/dev/null
    else
        echo "warning: openssl/mosquitto missing and cannot apt-get them; TLS and broker tests will fail or skip" >&2
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
