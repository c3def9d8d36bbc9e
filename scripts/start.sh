#!/usr/bin/env bash
# The main job. Installs what it needs (Debian packages, npm packages), then replays the bundled sample capture
# (samples/plant-sample.pcap: our own traffic between real Modbus, S7 and OPC UA peers) through the sensor and prints
# what it found. Until the collector exists (issue 8), this is the whole chain: capture → flows → protocols → events.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
SAMPLE=samples/plant-sample.pcap
echo "== otsensor read $SAMPLE --events (first 5 of the events)"
node bin/otsensor.js read "$SAMPLE" --events | head -n 5
echo "== otsensor read $SAMPLE --summary (what the sensor found)"
node bin/otsensor.js read "$SAMPLE" --summary | node -e '
  let text = "";
  process.stdin.on("data", (d) => (text += d)).on("end", () => {
    const s = JSON.parse(text);
    const m = s.modbus;
    console.log(`frames ${s.frames}; Modbus PDUs ${m.pdus} (${m.requests} requests, ${m.responses} responses), transactions ${m.transactions}`);
    console.log(`function codes ${JSON.stringify(m.func_codes)}; exception responses ${m.exception_responses} ${JSON.stringify(m.exception_codes)}`);
    console.log(`unit ids ${m.unit_ids.join(",")}; device identification ${JSON.stringify(m.device_identification)}`);
    console.log(`talkers ${m.talkers.map((t) => t[0] + " -> " + t[1]).join(", ")}; anomalies ${JSON.stringify(m.anomalies)}`);
    const s7 = s.s7comm;
    console.log(`S7comm PDUs ${s7.pdus}; ROSCTR ${JSON.stringify(s7.rosctr)}; COTP connections ${JSON.stringify(s.cotp.connection_tsaps)}`);
    console.log(`S7 functions ${JSON.stringify(s7.functions)}`);
    console.log(`S7 identity ${JSON.stringify(s7.identity)}`);
    const ua = s.opcua;
    console.log(`OPC UA messages ${ua.messages} ${JSON.stringify(ua.message_types)}; policies ${ua.security_policies.join(", ")}`);
    console.log(`OPC UA services ${JSON.stringify(ua.services)}`);
  });'
echo "== done. Try: node bin/otsensor.js read ../shared/pcaps/*.pcap* --summary"
