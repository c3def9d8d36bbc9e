#!/usr/bin/env bash
# Measures packet loss of the live capture sources at fixed replay rates.
#
# Replays the first PACKETS packets of the Modbus benchmark capture over a veth pair whose sending end lives in a
# private network namespace, with `tcpreplay --pps=RATE`, while on the receiving end (our namespace) both
#   - scripts/live-count.ts (one of our live sources, counting what it delivers) and
#   - tcpdump -w /dev/null (reference: its "dropped by kernel" line)
# capture at the same time. Each rate is replayed once per source (one after the other, never two of ours at once):
#   cap   sensor/capture/live-source.ts (the `cap` package, one JS callback per packet)
#   pcap  sensor/capture/pcap-live-source.ts (our batched libpcap binding; needs `npm run build:native`)
# Prints per rate and source: sent, received by us, our loss %, our source drops, ifDrops, libpcap's ps_drop as our
# source reports it (pcap only; "null" for cap, which cannot see it), tcpdump's received and kernel drops.
# Needs root. Env: RATES (default "50000 100000"), PACKETS (default 300000), PCAP (default the shared benchmark),
# SOURCES (default "cap pcap").
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
RATES=${RATES:-"50000 100000"}
SOURCES=${SOURCES:-"cap pcap"}
PACKETS=${PACKETS:-300000}
PCAP=${PCAP:-$ROOT/../shared/bench/modbus_big.pcap.gz}

if [[ $(id -u) -ne 0 ]]; then
  echo "measure-live-loss: needs root (network namespace, veth pair, packet capture)" >&2
  exit 1
fi
for cmd in ip tcpreplay tcpdump editcap; do
  command -v "$cmd" >/dev/null || { echo "measure-live-loss: $cmd not found (run scripts/setup-debian.sh)" >&2; exit 1; }
done

TAG=$$
NS=otw-loss-$TAG
CAP_IF=otwlc$TAG
PEER_IF=otwlp$TAG
TMP=$(mktemp -d /tmp/otw-loss.XXXXXX)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  ip link del "$CAP_IF" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# Input: decompress once, keep the first PACKETS packets.
if [[ $PCAP == *.gz ]]; then
  gzip -dc "$PCAP" >"$TMP/full.pcap"
else
  cp "$PCAP" "$TMP/full.pcap"
fi
editcap -r "$TMP/full.pcap" "$TMP/replay.pcap" "1-$PACKETS"
rm -f "$TMP/full.pcap"

ip netns add "$NS"
ip link add "$CAP_IF" type veth peer name "$PEER_IF" netns "$NS"
echo 1 >"/proc/sys/net/ipv6/conf/$CAP_IF/disable_ipv6"
ip netns exec "$NS" sysctl -q -w "net.ipv6.conf.$PEER_IF.disable_ipv6=1"
ip link set "$CAP_IF" up
ip -n "$NS" link set "$PEER_IF" up

printf '%-8s %-6s %-9s %-9s %-12s %-9s %-9s %-11s %-13s %-13s %s\n' rate_pps source sent ours ours_loss_% \
  src_drops if_drops ours_kdrop tcpdump_recv tcpdump_kdrop tcpreplay_actual_pps
for rate in $RATES; do
for source in $SOURCES; do
  PIDS=()
  # Our source, in its own node process (as the sensor would run).
  SOURCE=$source IDLE_MS=2000 node --import tsx scripts/live-count.ts "$CAP_IF" >"$TMP/ours.out" 2>"$TMP/ours.err" &
  ours=$!
  PIDS+=("$ours")
  tcpdump -i "$CAP_IF" -B 32768 -w /dev/null >"$TMP/tcpdump.out" 2>"$TMP/tcpdump.err" &
  tdump=$!
  PIDS+=("$tdump")
  for _ in $(seq 100); do
    grep -q ready "$TMP/ours.out" 2>/dev/null && grep -q listening "$TMP/tcpdump.err" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.5
  ip netns exec "$NS" tcpreplay -i "$PEER_IF" --pps="$rate" "$TMP/replay.pcap" >"$TMP/replay.out" 2>&1
  # tcpdump (no immediate mode, as normally run) holds packets in a kernel ring block for up to 1 s: wait past it.
  sleep 2
  kill -INT "$tdump"
  wait "$tdump" || true
  kill -INT "$ours" 2>/dev/null || true
  wait "$ours" || true

  sent=$(grep -o 'Successful packets: *[0-9]*' "$TMP/replay.out" | grep -o '[0-9]*$')
  actual=$(grep 'Rated:' "$TMP/replay.out" | grep -o '[0-9.]* pps' | head -1 | cut -d' ' -f1 || true)
  stats=$(tail -1 "$TMP/ours.out")
  ours_pk=$(node -e 'const s=JSON.parse(process.argv[1]);console.log(s.packets)' "$stats")
  src_drops=$(node -e 'const s=JSON.parse(process.argv[1]);console.log(s.sourceDrops)' "$stats")
  if_drops=$(node -e 'const s=JSON.parse(process.argv[1]);console.log(s.ifDrops)' "$stats")
  ours_kdrop=$(node -e 'const s=JSON.parse(process.argv[1]);console.log(s.kernelDrops)' "$stats")
  loss=$(node -e 'const [s,r]=process.argv.slice(1).map(Number);console.log((100*(s-r)/s).toFixed(2))' "$sent" "$ours_pk")
  td_recv=$(grep -o '[0-9]* packets captured' "$TMP/tcpdump.err" | grep -o '^[0-9]*')
  td_drop=$(grep -o '[0-9]* packets dropped by kernel' "$TMP/tcpdump.err" | grep -o '^[0-9]*')
  printf '%-8s %-6s %-9s %-9s %-12s %-9s %-9s %-11s %-13s %-13s %s\n' "$rate" "$source" "$sent" "$ours_pk" "$loss" \
    "$src_drops" "$if_drops" "$ours_kdrop" "$td_recv" "$td_drop" "$actual"
done
done
