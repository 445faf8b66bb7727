#!/usr/bin/env bash
# One-time (idempotent) set-up for `npm test` and `npm run bench` on a bare Debian 12 machine with Node 20:
# the Debian packages the native build and the VM test bed need, pnpm through corepack, dependencies, build.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

need_vm=0
if [ ! -d /dev/dma_heap ] || [ ! -e /dev/udmabuf ]; then need_vm=1; fi

pkgs=()
command -v make >/dev/null || pkgs+=(make)
command -v g++ >/dev/null || pkgs+=(g++)
command -v python3 >/dev/null || pkgs+=(python3)
[ -x /usr/bin/chromium ] || pkgs+=(chromium) # headless, for apps/bench's test of its HTML report
if [ "$need_vm" = 1 ]; then
  command -v qemu-system-x86_64 >/dev/null || pkgs+=(qemu-system-x86)
  [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx insmod && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' || pkgs+=(busybox-static)
  command -v cpio >/dev/null || pkgs+=(cpio)
  command -v xz >/dev/null || pkgs+=(xz-utils)
  command -v depmod >/dev/null || [ -x /sbin/depmod ] || pkgs+=(kmod)
  command -v setpriv >/dev/null || pkgs+=(util-linux)
fi
if [ "${#pkgs[@]}" -gt 0 ]; then
  log "installing Debian packages: ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

# Node's own headers ship with this Node (/usr/include/node); node-gyp must not try to download them.
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$(dirname "$(dirname "$(command -v node)")")/include/node/node_api.h" ]; then
  export npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
fi

export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
# The npm registry reachable here serves pnpm without signatures; corepack still checks the tarball's integrity hash.
export COREPACK_INTEGRITY_KEYS=0
if ! command -v pnpm >/dev/null || ! pnpm --version >/dev/null 2>&1; then
  log "enabling pnpm through corepack"
  corepack enable pnpm
fi
log "pnpm $(pnpm --version): installing dependencies"
if [ -f pnpm-lock.yaml ]; then
  pnpm install --frozen-lockfile --reporter=silent
else
  pnpm install --reporter=silent
fi
log "building"
pnpm exec turbo run build --output-logs=errors-only >&2
