#!/usr/bin/env bash
# Make a TEST certificate authority and server certificates for the broker (8883) and the
# service (HTTPS on 8443), for trying the compose stack or a staging site. Production uses
# certificates from the council's own CA or a public one, never these.
#
#   deploy/make-test-ca.sh [OUT_DIR] [HOSTNAME...]     (default deploy/certs, localhost)
#
# Writes ca.crt (give it to units / browsers that should trust the test CA), ca.key (keep it
# private), server.crt and server.key (mounted into Mosquitto and the app by docker-compose.yml).
set -euo pipefail
out=${1:-"$(dirname "$0")/certs"}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(localhost)
mkdir -p "$out"
umask 077
san="DNS:${names[0]}"
for name in "${names[@]:1}"; do san="$san,DNS:$name"; done
san="$san,IP:127.0.0.1"

if [ ! -f "$out/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 -days 825 -nodes \
    -keyout "$out/ca.key" -out "$out/ca.crt" -subj "/CN=Lifeline ARC test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 -nodes -keyout "$out/server.key" -out "$out/server.csr" \
  -subj "/CN=${names[0]}" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$san" > "$out/server.ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days 397 -sha256 -extfile "$out/server.ext" -out "$out/server.crt" 2>/dev/null
rm -f "$out/server.csr" "$out/server.ext"
# the containers run as other users: the server key must be readable by them (mode 0644 here is
# for a test CA only; in production give the key to the broker's user alone)
chmod 0644 "$out/server.key" "$out/server.crt" "$out/ca.crt"
echo "test CA and server certificate for ${names[*]} in $out"
