#!/usr/bin/env bash
# Generates our own Modbus/TCP captures with real peers on loopback, and their expected counts.
#
# For each capture: tcpdump -i lo records 'tcp port PORT' while a real server (modbus-serial ServerTCP, see
# modbus-server.mjs) is driven by one real client that logs every request it sent and the reply it got.
# build-expected.mjs turns that client log into NAME.expected.json and checks tshark's reading of the pcap against it.
# Needs root (capture on lo; port 502), tcpdump, tshark, mbpoll, /usr/bin/python3 with pymodbus (setup-debian.sh).
# Every process started here is stopped by its PID.
set -euo pipefail

cd "$(dirname "$0")"
HERE=$PWD
ROOT=$(cd ../.. && pwd)
TMP=$(mktemp -d /tmp/otw-peers.XXXXXX)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

wait_for() { # FILE PATTERN
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "generate: timed out waiting for '$2' in $1" >&2
  cat "$1" >&2 || true
  return 1
}

capture() { # NAME PORT CLIENT_DESCRIPTION CLIENT_COMMAND...
  local name=$1 port=$2 desc=$3
  shift 3
  local pcap="$HERE/$name.pcap" log="$HERE/$name.clientlog.jsonl"
  if ss -Htln "sport = :$port" | grep -q .; then
    echo "generate: port $port is in use" >&2
    return 1
  fi
  rm -f "$pcap"
  tcpdump -i lo -Z root --immediate-mode -U -w "$pcap" "tcp port $port" 2>"$TMP/$name.tcpdump.err" &
  local tdump=$!
  PIDS+=("$tdump")
  wait_for "$TMP/$name.tcpdump.err" 'listening on'
  (cd "$ROOT" && exec node tests/peers/modbus-server.mjs "$port") >"$TMP/$name.server.out" 2>&1 &
  local server=$!
  PIDS+=("$server")
  wait_for "$TMP/$name.server.out" "listening $port"

  (cd "$ROOT" && "$@" "$port" "$log")

  sleep 0.3
  kill -TERM "$server"
  wait "$server" || true
  # Immediate mode hands packets over at once; the pause still lets the last FIN/ACKs reach tcpdump before SIGINT.
  sleep 1
  kill -INT "$tdump"
  wait "$tdump" || true
  grep -E 'captured|dropped' "$TMP/$name.tcpdump.err" | tr '\n' ' '
  echo
  if ! grep -q '^0 packets dropped by kernel' "$TMP/$name.tcpdump.err"; then
    echo "generate: tcpdump dropped packets for $name" >&2
    return 1
  fi
  (cd "$ROOT" && node tests/peers/build-expected.mjs "$name" "$port" "$desc")
}

capture modbus-serial_5020 5020 'modbus-serial 8.0.25 ModbusRTU TCP client (node)' \
  node tests/peers/client-modbus-serial.mjs
capture mbpoll_1502 1502 "$(mbpoll -V 2>&1 | head -1 | sed 's/^/mbpoll /') (libmodbus), one process per request" \
  node tests/peers/client-mbpoll.mjs
capture pymodbus_502 502 "pymodbus $(/usr/bin/python3 -c 'import pymodbus; print(pymodbus.__version__)') ModbusTcpClient (Debian python3-pymodbus)" \
  /usr/bin/python3 tests/peers/client-pymodbus.py

# Keep the generated JSON in the layout the repo's formatter wants, so `biome check` stays clean after regenerating.
(cd "$ROOT" && npx biome format --write tests/peers/*.expected.json >/dev/null 2>&1)
