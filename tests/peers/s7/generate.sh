#!/usr/bin/env bash
# Regenerates the S7 captures made with real peers (root needed for tcpdump on lo):
#   snap7_1102.pcap  node-snap7 server + node-snap7 client (DB read/write, multi-var read, SZL 0x0011/0x001C/0x0424
#                    and the SZL list, clock, block list, DB list, PLC stop, hot start)
#   nodes7_1103.pcap node-snap7 server + nodes7 client (DB read, write, read)
# Each client logs its operations (<name>.clientlog.jsonl); build-expected.mjs turns the log (never our decoder) into
# expected counts, cross-checked with tshark (decoded as TPKT on the non-standard port) into <name>.expected.json.
# Every process started here is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../../.. && pwd)
export NODE_PATH="$ROOT/node_modules"

capture() { # name port client-script
  local name=$1 port=$2 client=$3
  tcpdump -i lo -U -s 0 -w "$name.pcap" "tcp port $port" 2>/dev/null &
  local dump=$!
  node snap7-server.mjs "$port" 2>"$name.serverlog.txt" &
  local srv=$!
  sleep 1.5
  node "$client" "$port" > "$name.clientlog.jsonl" || true
  sleep 1
  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  kill "$dump" 2>/dev/null || true
  wait "$dump" 2>/dev/null || true
  node build-expected.mjs "$name" "$port"
}

capture snap7_1102 1102 client-snap7.mjs
capture nodes7_1103 1103 client-nodes7.mjs
ls -l ./*.pcap
