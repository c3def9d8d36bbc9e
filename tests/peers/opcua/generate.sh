#!/usr/bin/env bash
# Makes tests/peers/opcua/node-opcua_48010.pcap with real peers: node-opcua 2.182.2 server and client (server.mjs,
# client.mjs) over loopback, SecurityPolicy None and Basic256Sha256 SignAndEncrypt, anonymous and username logins,
# Read / Write / Call / Browse. The client's own log (send_request / receive_response) is kept as
# node-opcua_48010.clientlog.jsonl; build-expected.mjs turns it into the expected counts and cross-checks them with
# tshark. The PKI (private keys) is generated in a temp dir at run time and deleted: nothing secret is committed.
# Needs root (tcpdump on lo), node-opcua installed (dev dependency), tshark.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
port=48010
name=node-opcua_${port}
pki="$(mktemp -d /tmp/opcua-peer-pki.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$pki"
}
trap cleanup EXIT

node "$here/server.mjs" "$port" "$pki" > "$pki/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  grep -q listening "$pki/server.log" 2>/dev/null && break
  sleep 0.5
done
grep -q listening "$pki/server.log" || { cat "$pki/server.log"; exit 1; }

tcpdump -i lo -U -s 0 -w "$here/$name.pcap" "tcp port $port" 2> "$pki/tcpdump.log" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
sleep 1
node "$here/client.mjs" "$port" "$pki" "$here/$name.clientlog.jsonl" > "$pki/client.log" 2>&1 || { cat "$pki/client.log"; exit 1; }
sleep 1
kill "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true
node "$here/build-expected.mjs" "$name" "$port"
ls -l "$here/$name.pcap"
