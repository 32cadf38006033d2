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

# --- 1. system packages ---------------------------------------------------
APT_PACKAGES="pkg-config cmake g++ make libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev \
libgstreamer-plugins-bad1.0-dev gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools"

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
  SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
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
  npm install -g --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
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
