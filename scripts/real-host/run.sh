#!/usr/bin/env bash
# The real-host harness: boots a real Xen 4.17 with Debian's Linux 6.1 dom0 in
# QEMU (TCG), creates domains with libxenctrl, and runs the privcmd contract
# suite inside dom0 against the real /dev/xen/privcmd. Prints per-case
# results and exits non-zero on any failure, and loudly when the VM cannot
# start.
#   scripts/real-host/run.sh [--no-install] [--no-bench | --bench-only | --guest-only] [--record]
# REAL_HOST_FILTER=text runs only the cases whose names contain it (no bench,
# no guest, no fidelity cases). The fidelity cases (test/fidelity) run with the
# suite and must answer as test/fidelity/observed-xen-4.17.json says; --record
# rewrites that fixture from this run instead. --guest-only runs only the HVM
# guest, served alternately by the C device model and by the restricted Node
# one, REAL_HOST_GUEST_PAIRS times (default 3), each on a fresh guest;
# REAL_HOST_GUEST_ITERS sets each run's round-trip loop (default 1500);
# REAL_HOST_GUEST_NODE_FLAGS="--a --b;--c" passes node options to the Node one
# (';' separates option sets, which the pairs take in turn; a ratio per set);
# REAL_HOST_GUEST_PROFILE=1 runs the Node one under --cpu-prof and prints its
# hottest functions (PROFILE lines).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/real-host
TIMEOUT=${REAL_HOST_TIMEOUT:-1500}
install=1
suite=1
bench=1
record=0
guest=1
[ -z "${REAL_HOST_FILTER:-}" ] || { bench=0; guest=0; }
for a in "$@"; do
  case $a in
    --no-install) install=0 ;;
    --no-bench) bench=0 ;;
    --bench-only) suite=0; bench=1 ;;
    --guest-only) suite=0; bench=0; guest=1 ;;
    --record) record=1 ;;
    *) echo "usage: $0 [--no-install] [--no-bench | --bench-only | --guest-only] [--record]" >&2; exit 2 ;;
  esac
done
fidelity=0
{ [ "$suite" = 1 ] && [ -z "${REAL_HOST_FILTER:-}" ]; } && fidelity=1
[ "$record" = 0 ] || fidelity=1
FIXTURE=$ROOT/test/fidelity/observed-xen-4.17.json

GUEST_MSG="Hello from an HVM guest, served from dom0"

say() { printf '[real-host] %s\n' "$*"; }
die() { printf '[real-host] FAILED: %s\n' "$*" >&2; exit 1; }

# 1. Debian packages.
PKGS=(qemu-system-x86 xen-hypervisor-4.17-amd64 linux-image-amd64 busybox-static libxen-dev gcc libc6-dev cpio kmod xz-utils zstd)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$install" = 1 ] || die "missing packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  say "installing ${missing[*]}"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

XEN_GZ=$(ls /boot/xen-4.17*-amd64.gz 2>/dev/null | head -1)
VMLINUZ=$(ls -v /boot/vmlinuz-*-amd64 2>/dev/null | tail -1)
[ -n "$XEN_GZ" ] || die "no /boot/xen-4.17-amd64.gz (package xen-hypervisor-4.17-amd64)"
[ -n "$VMLINUZ" ] || die "no /boot/vmlinuz-*-amd64 (package linux-image-amd64)"
KVER=${VMLINUZ#/boot/vmlinuz-}
say "Xen $(basename "$XEN_GZ"), dom0 kernel $KVER"

# 2. Build the package and the suite for dom0.
rm -rf "$OUT"
mkdir -p "$OUT"
[ -f "$ROOT/build/Release/privcmd_shim.node" ] || (cd "$ROOT" && npm run build:native >/dev/null)
(cd "$ROOT" && npx tsc -p tsconfig.real-host.json)
gcc -O2 -Wall -D__XEN_TOOLS__ -static -o "$OUT/xenctl" "$ROOT/scripts/real-host/xenctl.c" \
  -lxenctrl -lxenguest -lxencall -lxenforeignmemory -lxendevicemodel -lxengnttab -lxenevtchn \
  -lxentoollog -lxentoolcore -lpthread 2> >(grep -v "statically linked applications" >&2 || true)

# 3. The dom0 initramfs.
R=$OUT/rootfs
mkdir -p "$R"/{bin,proc,sys,dev,tmp,lib/modules/xen,app}
cp /bin/busybox "$R/bin/busybox"
cp "$OUT/xenctl" "$R/bin/xenctl"
# dmop-bench (the C side of the device benchmark), guest-dm (the C device
# model for the guest); REAL_HOST_TOOLS="a.c b.c" adds more small static C
# programs to dom0's /bin.
for c in "$ROOT/scripts/real-host/dmop-bench.c" "$ROOT/scripts/real-host/guest-dm.c" ${REAL_HOST_TOOLS:-}; do
  gcc -O2 -Wall -D__XEN_TOOLS__ -static -o "$R/bin/$(basename "$c" .c)" "$c" -lxenctrl -lxendevicemodel -lxenforeignmemory -lxenevtchn \
    -lxentoolcore -lxencall -lxentoollog -lpthread \
    2> >(grep -v "statically linked applications" >&2 || true)
done
NODE=$(readlink -f "$(command -v node)")
cp "$NODE" "$R/bin/node"
strip "$R/bin/node" 2>/dev/null || true
for lib in $(ldd "$NODE" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
  mkdir -p "$R$(dirname "$lib")"
  cp -L "$lib" "$R$lib"
done
for m in xen-privcmd xenfs xen-evtchn xen-gntdev; do
  f=$(modinfo -k "$KVER" -F filename "$m")
  case $f in
    *.xz) xz -dc "$f" > "$R/lib/modules/xen/$m.ko" ;;
    *.zst) zstd -qdc "$f" > "$R/lib/modules/xen/$m.ko" ;;
    *) cp "$f" "$R/lib/modules/xen/$m.ko" ;;
  esac
done
cp -r "$OUT/js" "$R/app/js"
mkdir -p "$R/app/js/scripts/real-host"
cp "$ROOT/scripts/real-host/device-bench.js" "$R/app/js/scripts/real-host/"
mkdir -p "$R/app/js/build/Release"
cp "$ROOT/build/Release/privcmd_shim.node" "$R/app/js/build/Release/"
cp "$ROOT/package.json" "$R/app/js/package.json"
(cd "$ROOT" && node scripts/real-host/closure.js expect node-gyp-build) | while read -r d; do
  mkdir -p "$R/app/js/$(dirname "$d")"
  cp -r "$ROOT/$d" "$R/app/js/$d"
done
# REAL_HOST_SCRIPT=file.js runs that script in dom0 instead of the suite
# (for exploring the real host); REAL_HOST_FILTER runs only matching cases.
if [ -n "${REAL_HOST_SCRIPT:-}" ]; then
  cp "$REAL_HOST_SCRIPT" "$R/app/js/explore.js"
  sed -e 's|^\( *\)node test/contract/runner.js .*|\1node /app/js/explore.js|' -e 's|@SUITE@|1|' -e 's|@BENCH@|0|' -e 's|@GUEST@|0|' -e 's|@FIDELITY@|0|' \
    "$ROOT/scripts/real-host/init.sh" > "$R/init"
else
  sed -e "s|@FILTER@|${REAL_HOST_FILTER:-}|" -e "s|@SUITE@|$suite|" -e "s|@BENCH@|$bench|" -e "s|@FIDELITY@|$fidelity|" \
    -e "s|@GUEST@|$guest|" -e "s|@GUEST_ITERS@|${REAL_HOST_GUEST_ITERS:-1500}|" -e "s|@GUEST_PAIRS@|${REAL_HOST_GUEST_PAIRS:-3}|" \
    -e "s|@GUEST_NODE_FLAGS@|${REAL_HOST_GUEST_NODE_FLAGS:-}|" -e "s|@GUEST_MSG@|$GUEST_MSG|" \
    -e "s|@GUEST_PROFILE@|${REAL_HOST_GUEST_PROFILE:-0}|" "$ROOT/scripts/real-host/init.sh" > "$R/init"
fi
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet) > "$OUT/initrd"
gunzip -c "$XEN_GZ" > "$OUT/xen"
say "initramfs $(du -h "$OUT/initrd" | cut -f1)"

# 4. Boot. TCG with SVM + NPT so HVM guests with HAP can be created.
say "booting Xen in QEMU (TCG; timeout ${TIMEOUT}s)"
start=$(date +%s)
set +e
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt -m 3072 -smp 1 \
  -nographic -no-reboot -monitor none -serial "file:$OUT/serial.log" \
  -kernel "$OUT/xen" \
  -append "console=com1 com1=115200,8n1 dom0_mem=2048M,max:2048M loglvl=all guest_loglvl=all" \
  -initrd "$VMLINUZ console=hvc0 earlyprintk=xen,$OUT/initrd" </dev/null >"$OUT/qemu.log" 2>&1
qrc=$?
set -e
say "QEMU exited $qrc after $(( $(date +%s) - start ))s; serial log: $OUT/serial.log"

# 5. Results.
log=$OUT/serial.log
[ -s "$log" ] || die "the VM produced no output (QEMU: $(tail -3 "$OUT/qemu.log" | tr '\n' ' '))"
grep -q 'HARNESS BOOTED' "$log" || { tail -40 "$log" >&2; die "dom0 did not reach /init (see the log tail above)"; }
sed -n '/privcmd-shim probe/,/HARNESS PROBE/p' "$log" | tr -d '\r'
[ -z "${REAL_HOST_SCRIPT:-}" ] || { grep -a -v '^(XEN)' "$log" | sed -n '/HARNESS PROBE/,$p' | tr -d '\r'; exit 0; }
grep -aq 'HARNESS PROBE 0' "$log" || die "privcmd-shim probe failed on the real host (see its output above)"
grep -a '^GUEST-C \|^guest-dm: \|^xenctl: \|^GUEST-NODE \|^CASE .* guest-node › \|^PROFILE ' "$log" | tr -d '\r' | sed 's/^/[real-host] /' || true
if [ "$guest" = 1 ]; then
  grep -aq "^GUEST-C ok \"$GUEST_MSG\" " "$log" && grep -aq 'HARNESS GUEST 0' "$log" && ! grep -aq 'HARNESS GUEST 1' "$log" ||
    die "the HVM guest did not print its message through the C device model (see $log)"
  grep -aq "^GUEST-NODE ok \"$GUEST_MSG\" " "$log" || die "the HVM guest did not print its message through the Node device model (see $log)"
  grep -aq '^CASE FAIL .* guest-node › ' "$log" && die "guest-node checks failed (see the CASE FAIL lines above)"
  grep -aq '^GUEST-NODE RESULT pass=[1-9][0-9]* fail=0' "$log" && grep -aq 'HARNESS GUEST-NODE 0' "$log" && ! grep -aq 'HARNESS GUEST-NODE 1' "$log" ||
    die "a Node device model run did not finish cleanly (see $log)"
  # Each pair's Node/C ratio (its two runs were seconds apart), and their
  # median for each set of Node options.
  tr -d '\r' < "$log" | awk '
    /^GUEST-PAIR / { p = $2; f = $0; sub(/^GUEST-PAIR [0-9]+ */, "", f); sub(/ +$/, "", f); order[++np] = p; flags[p] = f; if (!(f in seen)) { seen[f] = 1; sets[++ns] = f } }
    /^BENCH guest-c / { c[p] = $3 }
    /^BENCH guest-node / { n[p] = $3 }
    END {
      if (np == 0) print "BENCH guest ratio: no pair ran"
      for (s = 1; s <= ns; s++) {
        fs_ = sets[s]; k = 0; list = ""
        for (i = 1; i <= np; i++) {
          q = order[i]
          if (flags[q] != fs_) continue
          if (!(q in c) || !(q in n) || c[q] <= 0) { list = list sprintf(" [%s: incomplete]", q); continue }
          r[++k] = n[q] / c[q]
          list = list sprintf(" [%s: C %s, Node %s, %.2fx]", q, c[q], n[q], r[k])
        }
        for (i = 2; i <= k; i++) for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
        label = fs_ == "" ? "" : " (node " fs_ ")"
        if (k == 0) { printf "BENCH guest ratio%s: no complete pair:%s\n", label, list; continue }
        med = (k % 2) ? r[(k + 1) / 2] : (r[k / 2] + r[k / 2 + 1]) / 2
        printf "BENCH guest ratio Node/C%s median %.2fx over %d pairs (goal >= 0.8x):%s\n", label, med, k, list
      }
    }' | sed 's/^/[real-host] /'
fi
grep -a '^CASE ' "$log" | grep -av ' guest-node › ' | tr -d '\r' || true
result=$(grep -a '^RESULT ' "$log" | tr -d '\r' | tail -1 || true)
[ "$suite" = 1 ] || result="RESULT (suite not run: --bench-only or --guest-only)"
[ -n "$result" ] || { tail -40 "$log" >&2; die "the contract suite did not finish (no RESULT line)"; }
say "$result"
grep -a '^LAUNCHER ' "$log" | tr -d '\r' | sed 's/^/[real-host] /' || true
grep -a '^WORKERS ' "$log" | tr -d '\r' | sed 's/^/[real-host] /' || true
if [ "$suite" = 1 ] && [ -z "${REAL_HOST_FILTER:-}" ] && ! grep -aq '^LAUNCHER ' "$log"; then
  die "the launcher check did not run to the end (no LAUNCHER line; see $log)"
fi
if [ "$suite" = 1 ] && [ -z "${REAL_HOST_FILTER:-}" ] && ! grep -aq '^WORKERS ' "$log"; then
  die "the worker-threads check did not run to the end (no WORKERS line; see $log)"
fi
grep -a '^BENCH' "$log" | tr -d '\r' | sed 's/^BENCH /[real-host] /' || true
# 6. The fidelity cases: out of the serial log, then recorded or compared.
fid=0
if [ "$fidelity" = 1 ]; then
  grep -a '^FIDELITY TIME' "$log" | tr -d '\r' | sed 's/^/[real-host] /' || true
  if ! node "$OUT/js/test/fidelity/host-cli.js" extract "$log" "$OUT/observed-xen.json"; then
    fid=1
  elif [ "$record" = 1 ]; then
    cp "$OUT/observed-xen.json" "$FIXTURE"
    say "recorded $FIXTURE"
  elif [ ! -f "$FIXTURE" ]; then
    say "no $FIXTURE yet: record it with npm run test:xen -- --record"; fid=1
  else
    node "$OUT/js/test/fidelity/host-cli.js" check "$OUT/observed-xen.json" "$FIXTURE" || fid=1
  fi
fi
[ "$bench" = 0 ] || grep -aq 'HARNESS BENCH 0' "$log" || say "WARNING: the device benchmark did not complete (see $log)"
[ "$fid" = 0 ] || die "the fidelity cases do not match (see above)"
grep -aq 'HARNESS EXIT 0' "$log" || die "failures on the real host: contract $result; launcher $(grep -a '^LAUNCHER ' "$log" | tr -d '\r' | tail -1 || echo 'not run'); workers $(grep -a '^WORKERS ' "$log" | tr -d '\r' | tail -1 || echo 'not run')"
[ "$suite" = 0 ] || say "all contract cases passed on the real Xen"
[ "$guest" = 0 ] || say "the HVM guest was served by the C device model and by the restricted Node device model"
