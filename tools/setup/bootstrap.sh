#!/bin/sh
# Idempotent set-up for a fresh Debian 12 machine (root, Node >= 20.19, npm):
#   1. system packages (GStreamer 1.22 + dev headers, tools) via apt-get, only when missing;
#   2. pnpm (the version pinned in package.json "packageManager");
#   3. workspace install (frozen lockfile; dependencies' install scripts stay unapproved);
#   4. build of every package (turbo, cached).
# Each step checks before acting, so a second run does no work beyond turbo's cache hits.
set -eu
cd "$(dirname "$0")/../.."

log() { printf '[nv setup] %s\n' "$*"; }

# --- 0. Node ------------------------------------------------------------------
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  log "Node $(node -v) is too old: nv needs Node >= 20.19 (install it from nodejs.org or NodeSource, then retry)" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"

# --- 1. system packages ---------------------------------------------------
# tools/setup/gst-elements.test.ts checks that every GStreamer element, program and Python
# module the code uses comes from one of these packages or their Depends (gstreamer1.0-x:
# textoverlay for the text clips; ffmpeg: the ffmpeg-pipe row of tools/bench/media-throughput.mjs
# and the lossless clips of packages/media/src/media-convert.test.ts). libyuv-dev: the addon's
# scaling/conversion (native/src/convert.cc; it links libyuv.so.0, which libyuv-dev pulls in).
# chromium: the headless browser of packages/server/src/browser.test.ts (the live view page),
# driven by playwright-core at /usr/bin/chromium (no browser download).
APT_PACKAGES="pkg-config cmake g++ make libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev \
libgstreamer-plugins-bad1.0-dev gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-x \
python3-gst-1.0 gir1.2-gst-rtsp-server-1.0 python3-gi prometheus libcairo2-dev libyuv-dev fonts-dejavu-core ffmpeg chromium mosquitto mosquitto-clients nats-server"

missing=""
for p in $APT_PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
    log "missing system packages:$missing — run as root or install them, then retry" >&2
    exit 1
  fi
  log "installing system packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  log "system packages present"
fi

# --- 2. pnpm ----------------------------------------------------------------
PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  log "installing pnpm@$PNPM_VERSION"
  $SUDO npm install -g --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
else
  log "pnpm $PNPM_VERSION present"
fi

# --- 3. install -------------------------------------------------------------
export ONNXRUNTIME_NODE_INSTALL=skip
export CI="${CI:-true}"
export TURBO_TELEMETRY_DISABLED=1
if ! pnpm install --frozen-lockfile --reporter=append-only > /tmp/nv-pnpm-install.log 2>&1; then
  cat /tmp/nv-pnpm-install.log >&2
  log "pnpm install failed" >&2
  exit 1
fi
tail -n 2 /tmp/nv-pnpm-install.log

# --- 4. build ---------------------------------------------------------------
pnpm exec turbo run build --output-logs=errors-only
log "ready"
