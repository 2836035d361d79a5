#!/usr/bin/env bash
# A throwaway PKI for a TLS exchange, made at run time (never committed, never reused): a CA
# and a server certificate it signs, for the names and addresses given.
#   scripts/make-pki.sh DIR NAME_OR_IP...
# Writes DIR/ca.pem (what the engine trusts: ref-engine --ca-file, curl --cacert),
# DIR/server.pem (the chain the exchange serves) and DIR/server.key. Valid for 2 days.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR NAME_OR_IP..." >&2; exit 2; }
dir=$1
shift
mkdir -p "$dir"
san=()
for n in "$@"; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then san+=("IP:$n"); else san+=("DNS:$n"); fi
done
san_list=$(IFS=,; echo "${san[*]}")
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=mmchaos throwaway CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req "${ec[@]}" -subj "/CN=$1" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 2 -out "$dir/server.pem" -extfile <(printf '%s\n' \
    "subjectAltName=$san_list" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth") 2>/dev/null
rm -f "$dir/server.csr" "$dir/ca.srl"
chmod 600 "$dir/ca.key" "$dir/server.key"
