#!/usr/bin/env bash
# Prepares a Debian 12 machine (run as root, Node 20 already present) for building and testing the project:
# the system packages the sensor and its tests use, then `npm ci` when node_modules is missing or stale.
# Idempotent and non-interactive (CI has no stdin). When everything is installed it never touches apt.
set -euo pipefail

cd "$(dirname "$0")/.."

# nats-server: sensor→collector transport (and its tests); libpcap-dev: builds the live-capture addon;
# tcpdump/tshark/tcpreplay: capture, reference dissection and replay in tests; mbpoll/python3-pymodbus: real Modbus
# peers; iproute2: netns/veth; postgresql: the collector's multi-instance store (tests run a private cluster);
# python3/make/g++: better-sqlite3 builds from source (its prebuilt download host is unreachable); openssl: TLS
# material for NATS (otdeploy tls init); chromium: browser tests and PDF bulletins; fonts-noto-cjk: Chinese text in
# PDF bulletins and screenshots; victoria-metrics: the InfluxDB v2 write API the metrics path is tested against;
# systemd: `systemd-analyze verify` of the units in deploy/systemd.
PACKAGES=(nats-server libpcap-dev tcpdump tshark tcpreplay mbpoll python3-pymodbus iproute2 postgresql python3 make g++
  openssl chromium fonts-noto-cjk victoria-metrics systemd)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

apt_msg="apt: all ${#PACKAGES[@]} packages present"
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-debian: missing packages (${missing[*]}) and not root: run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # tshark's postinst asks whether non-root users may capture; answer it up front so nothing prompts.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  apt_msg="apt: installed ${missing[*]}"
fi

npm_msg="npm: node_modules up to date"
# npm writes node_modules/.package-lock.json on every install: older than package-lock.json means stale.
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  # allowScripts in package.json lets `cap` run its node-gyp build (against libpcap-dev, installed above).
  if npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>/tmp/setup-debian-npm-ci.err; then
    npm_msg="npm: ran npm ci"
  else
    # A lock file out of step with package.json (it happened: platform-only optional packages of @biomejs/cli and a
    # bin entry were missing, fixed 2026-11-24) makes `npm ci` refuse it. `npm install` still gets a working tree, and
    # the message says so, so that the lock file gets regenerated and committed.
    npm install --no-audit --no-fund --loglevel=error >/dev/null
    npm_msg="npm: npm ci refused the lock file ($(grep -m1 -o 'Missing: [^ ]*' /tmp/setup-debian-npm-ci.err || echo error)), ran npm install"
  fi
fi

native_msg="native: pcap_batch addon up to date"
# Our batched libpcap binding (sensor/capture/pcap-live-source.ts): rebuilt when missing or older than its sources.
ADDON=sensor/capture/native/build/Release/pcap_batch.node
if [[ ! -f $ADDON || -n $(find sensor/capture/native -maxdepth 1 -newer "$ADDON" \( -name '*.c' -o -name '*.h' -o -name binding.gyp \)) ]]; then
  # node-gyp ships with npm; the headers come with Node itself (/usr/include/node), so nothing is downloaded.
  if [[ -z ${npm_config_nodedir:-} && -f /usr/include/node/node_api.h ]]; then
    export npm_config_nodedir=/usr
  fi
  if ! npm run --silent build:native >/tmp/setup-debian-native.log 2>&1; then
    echo "setup-debian: building the pcap_batch addon failed (npm run build:native):" >&2
    tail -20 /tmp/setup-debian-native.log >&2
    exit 1
  fi
  native_msg="native: built pcap_batch addon"
fi

echo "setup-debian: ${apt_msg}; ${npm_msg}; ${native_msg}"
