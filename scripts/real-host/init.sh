#!/bin/busybox sh
# /init of the dom0 initramfs: load the Xen drivers, report what privcmd
# offers, run a guest served by a C and by a Node device model, the contract suite
# against the real device, power off.
/bin/busybox --install -s /bin
export PATH=/bin HOME=/tmp XENCTL=/bin/xenctl
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp
for m in xen-privcmd xenfs xen-evtchn xen-gntdev; do
  insmod /lib/modules/xen/$m.ko || echo "HARNESS WARN insmod $m failed"
done
mkdir -p /proc/xen && mount -t xenfs xenfs /proc/xen 2>/dev/null
echo "HARNESS BOOTED $(uname -r)"
cd /app/js
node lib/cli.js probe
echo "HARNESS PROBE $?"
suite=0
# A real HVM guest prints through a UART served by the C device model
# (xenctl guest + guest-dm); its SCR loop is the round-trip baseline. Then the
# same program, served by the restricted Node device model
# (test/contract/guest.device.ts), which then fails to reach a second guest.
# C and Node alternate, @GUEST_PAIRS@ pairs on fresh guests: the host's load
# drifts over minutes, and each pair's ratio only compares runs seconds apart.
if [ "@GUEST@" = 1 ]; then
  msg="@GUEST_MSG@"
  # Node option sets for the Node device model, ';'-separated, taken in turn by the pairs.
  variants="@GUEST_NODE_FLAGS@"
  nv=$(( $(printf '%s' "$variants" | tr -cd ';' | wc -c) + 1 ))
  pair=1
  while [ "$pair" -le @GUEST_PAIRS@ ]; do
    flags=$(printf '%s' "$variants" | cut -d';' -f$(( (pair - 1) % nv + 1 )))
    echo "GUEST-PAIR $pair $flags"
    g=1
    if dom=$(xenctl guest "$msg" @GUEST_ITERS@); then
      guest-dm "$dom" "$msg" 60 && g=0
      xenctl destroy "$dom" || g=1
    fi
    echo "HARNESS GUEST $g"
    gn=1
    GUEST_NODE_PROFILE=@GUEST_PROFILE@ GUEST_NODE_FLAGS="$flags" node test/contract/guest.device.js "$msg" @GUEST_ITERS@ && gn=0
    echo "HARNESS GUEST-NODE $gn"
    { [ "$g" = 0 ] && [ "$gn" = 0 ]; } || suite=1
    pair=$((pair + 1))
  done
fi
if [ "@SUITE@" = 1 ]; then
  node test/contract/runner.js /app/js/test/contract/device.js "@FILTER@" || suite=1
  # The launcher's fd hand-off, in a process of its own (the suite's last
  # cases restrict the runner's process).
  if [ -z "@FILTER@" ]; then
    node test/contract/launcher.device.js || suite=1
    # restrictAll and worker threads, in a process of its own too.
    node test/contract/workers.device.js || suite=1
  fi
fi
# The fidelity cases (test/fidelity): every case on the real device, the
# observations printed between markers for the host to compare or record.
if [ "@FIDELITY@" = 1 ]; then
  node test/fidelity/record.js || echo "FIDELITY FAILED $?"
fi
if [ "@BENCH@" = 1 ]; then
  node scripts/real-host/device-bench.js
  echo "HARNESS BENCH $?"
fi
echo "HARNESS EXIT $suite"
sync
poweroff -f
