#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The vspace test lab: boots real Debian kernels under QEMU (TCG) and runs
# vspace inside them.
#
#   lab.sh check          build, boot every lab kernel, run the selftests
#                         and the short stress tests
#   lab.sh check-full     the same with the long stress tests (300 VMs,
#                         50 rmmods, minutes of fights and fuzzing)
#   lab.sh check-debug    build the debug kernel (selftests/lab/debugkernel.sh:
#                         KASAN, lockdep, kmemleak, UBSAN) and run the whole
#                         suite, the short stress tests included, on it
#   lab.sh demo           boot the newest kernel and run the demo script
#   lab.sh bench          hook overhead benchmark (-icount), on 6.12
#   lab.sh eval           vspace against the default scheduler and static
#                         pinning (selftests/eval), on 6.12 with 8 vCPUs
#                         under -icount (the parallel lab: selftests/burn);
#                         results and plots into Documentation/evaluation/
#   lab.sh run SCRIPT...  boot every lab kernel and run SCRIPT (path relative
#                         to the top of the tree) in each
#
# The guest sees the host's / read-only over 9p with a tmpfs overlay, so it
# runs the host's tools and this build tree; a second, writable 9p share
# brings results back. Everything downloaded lives in $LAB_CACHE.
#
# Environment:
#   LAB_KERNELS   which kernels: any of "6.1 6.12 6.12-rt"
#                 (default "6.1 6.12 6.12-rt")
#   LAB_SMP       guest vCPUs (default 2; the policy and stress boots take
#                 at least 4)
#   LAB_RUNS      which boots per kernel: any of "check stress policy
#                 topology" (default all; without LAB_RUNS, check boots
#                 policy on 6.12 only and no stress on 6.12 beside
#                 6.12-rt; check-full and check-debug boot everything)
#   LAB_JOBS      guests booted at once (default: the host's CPUs, at most
#                 4); each TCG guest runs on one host thread
#   LAB_MEM       guest memory in MiB (default 2048)
#   LAB_TIMEOUT   seconds one guest may run, times LAB_SLOW (default 1800;
#                 7200 for check-full, check-debug and eval)
#   LAB_TCG_THREAD  single (default) or multi: QEMU's TCG threading
#   LAB_CACHE     cache folder (default <top>/.cache)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$TOP/selftests/lab
CACHE=${LAB_CACHE:-$TOP/.cache}
SMP=${LAB_SMP:-2}
MEM=${LAB_MEM:-2048}
TIMEOUT=${LAB_TIMEOUT:-1800}
# Multi-threaded TCG lets one vCPU run a stale translation of kernel text
# another vCPU has just patched (static keys, e.g. when KVM creates a VM or
# a tracepoint gets its first probe): an "Oops: int3" in the guest that real
# hardware never shows. Round-robin TCG has no such race.
TCG_THREAD=${LAB_TCG_THREAD:-single}
KERNELS=${LAB_KERNELS:-"6.1 6.12 6.12-rt"}
JOBS=${LAB_JOBS:-$(nproc)}
[ "$JOBS" -le 4 ] || JOBS=4
[ "$JOBS" -ge 1 ] || JOBS=1
# Long stress tests (check-full) or short ones (check, check-debug).
STRESS=short
# The debug kernel runs everything several times slower.
SLOW=${LAB_SLOW:-1}
# Every boot on every kernel (check-full, check-debug, or LAB_RUNS given),
# or what fits in make check's 45 minutes (see cmd_check).
ALL_BOOTS=${LAB_RUNS:+1}

# Modules the initramfs needs to reach the 9p root; their dependencies are
# taken from modules.dep, and built-in ones are skipped.
BOOT_MODULES="virtio_pci 9pnet_virtio 9p overlay"

HOST_PKGS="make gcc libc6-dev bc flex bison libelf-dev qemu-system-x86
	   busybox-static kmod cpio xz-utils linux-source-6.12 perl
	   python3 python3-docutils bpftrace iproute2"

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: the lab installs packages"

apt_updated=
apt_update() {
	[ -n "$apt_updated" ] && return
	log "apt-get update"
	apt-get update -qq >/dev/null
	apt_updated=1
}

# Install the named packages that are not installed yet.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	apt_update
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
}

# Map a lab kernel name (6.1, 6.12, 6.12-rt) to the newest Debian kernel
# release that has both an image and headers, e.g. 6.12.117+deb12-amd64.
resolve_kver() {
	local want=$1 pat names kver
	case $want in
	6.1)
		[ -n "$(apt-cache show linux-image-amd64 2>/dev/null)" ] ||
			apt_update
		kver=$(apt-cache depends linux-image-amd64 2>/dev/null |
		       sed -n 's/^ *Depends: linux-image-\(6\.1\..*-amd64\)$/\1/p' |
		       head -n1)
		;;
	6.12 | 6.12-rt)
		pat='^linux-image-6\.12\.[0-9]+\+deb12-amd64$'
		[ "$want" = 6.12-rt ] && pat='^linux-image-6\.12\.[0-9]+\+deb12-rt-amd64$'
		names=$(apt-cache pkgnames linux-image-6.12. 2>/dev/null || true)
		if [ -z "$names" ]; then
			apt_update
			names=$(apt-cache pkgnames linux-image-6.12.)
		fi
		for kver in $(grep -E "$pat" <<<"$names" |
			      sed 's/^linux-image-//' | sort -rV); do
			apt-cache show "linux-headers-$kver" >/dev/null 2>&1 &&
				break
			kver=
		done
		;;
	*)
		die "unknown lab kernel '$want' (use 6.1, 6.12 or 6.12-rt)"
		;;
	esac
	[ -n "$kver" ] || die "no Debian kernel found for $want"
	echo "$kver"
}

# Unpack the kernel image package into the cache and index its modules.
fetch_kernel() {
	local kver=$1 dir=$CACHE/kernels/$1 tmp
	need_pkgs "linux-headers-$kver"
	[ -f "$dir/boot/vmlinuz-$kver" ] && [ -f "$dir/lib/modules/$kver/modules.dep" ] &&
		return
	log "fetching linux-image-$kver"
	tmp=$(mktemp -d)
	# _apt cannot write into a root-only mktemp dir; let it.
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -qq "linux-image-$kver" >/dev/null 2>&1) ||
		die "apt-get download linux-image-$kver failed"
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg-deb -x "$tmp"/linux-image-*.deb "$dir"
	rm -rf "$tmp"
	depmod -b "$dir" "$kver"
}

# linux-source-6.12 provides kselftest_harness.h and checkpatch.pl; only
# those files are unpacked, once.
fetch_ksrc() {
	"$LAB/ksrc.sh" "$CACHE" >/dev/null
}

build_for() {
	local kver=$1 out=$CACHE/build/$1 kdir
	log "building vspace for $kver"
	rm -rf "$out"
	mkdir -p "$out"
	cp -a "$TOP/Kbuild" "$TOP/module" "$TOP/include" "$out/"
	# Debian's headers, or the debug kernel's own build tree.
	kdir=/usr/src/linux-headers-$kver
	[ -d "$kdir" ] || kdir=$CACHE/kernels/$kver/lib/modules/$kver/build
	make -s -C "$kdir" M="$out" VSPACE_WERROR=y modules \
		>"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; die "build for $kver failed"; }
	# The headers may lack vmlinux; that notice is not a problem.
	grep -v 'Skipping BTF generation' "$out/build.log" >&2 || true
	# The evaluation's burn module (test-only, selftests/burn).
	mkdir -p "$out/burn"
	cp -a "$TOP"/selftests/burn/{Kbuild,vs_burn.c,vs_burn.h} "$out/burn/"
	make -s -C "$kdir" M="$out/burn" VSPACE_WERROR=y modules \
		>"$out/burn/build.log" 2>&1 || { cat "$out/burn/build.log" >&2; die "vs_burn for $kver failed"; }
}

# A busybox initramfs with the modules needed to mount the 9p root.
make_initramfs() {
	local kver=$1 kdir=$CACHE/kernels/$1 root img=$CACHE/build/$1/initramfs.cpio.gz
	local mdir=$kdir/lib/modules/$1 m dep order=()

	root=$(mktemp -d)
	mkdir -p "$root"/{bin,dev,proc,sys,mnt,modules}
	cp /bin/busybox "$root/bin/busybox"
	cp "$LAB/init" "$root/init"
	chmod 755 "$root/init"

	# Dependencies first, each module once.
	add_mod() {
		local name=$1 line path d
		line=$(grep -E "(^|/)${name//_/[-_]}\.ko(\.xz)?:" "$mdir/modules.dep" || true)
		[ -n "$line" ] || return 0	# built in
		path=${line%%:*}
		for d in ${line#*:}; do
			add_mod "$(basename "${d%.xz}" .ko)"
		done
		for d in "${order[@]}"; do [ "$d" = "$path" ] && return 0; done
		order+=("$path")
	}
	for m in $BOOT_MODULES; do
		add_mod "$m"
	done
	for m in "${order[@]}"; do
		dep=$(basename "${m%.xz}")
		case $m in
		*.xz) xz -dc "$mdir/$m" >"$root/modules/$dep" ;;
		*) cp "$mdir/$m" "$root/modules/$dep" ;;
		esac
		echo "$dep" >>"$root/modules/order"
	done

	# Empty when every boot module is built in (the debug kernel).
	touch "$root/modules/order"
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$img"
	rm -rf "$root"
}

# boot KVER SCRIPT OUTDIR [SMP]: run SCRIPT inside the guest; its output
# goes to the console (and OUTDIR/console.log), files it writes to $LAB_OUT
# land in OUTDIR.
boot() {
	local kver=$1 script=$2 out=$3 smp=${4:-$SMP} rc=0
	# shellcheck disable=SC2206
	local extra=(${LAB_QEMU_EXTRA:-})
	local kernel=$CACHE/kernels/$kver/boot/vmlinuz-$kver
	# SLUB's checks (slub_debug=F) leave no per-CPU slabs, so slabinfo
	# counts are exact for vspace_load's leak check. The debug kernel has
	# KASAN and kmemleak for that, and with them SLUB's checks made it
	# twice as slow again (fork and exec: 210 s against 107 s for 300).
	# It also runs with 4-level page tables: under -cpu max (LA57) KASAN
	# once reported an interrupt's lock in early boot as a wild access.
	# KASAN reports every problem there (kasan_multi_shot), not the
	# first one only.
	local kargs=slub_debug=F

	# The nested KVM guests boot a kernel of the cache: the one under
	# test, but Debian's 6.12 beside the debug kernel (prepare), whose
	# KASAN inside a nested guest under TCG would only add hours.
	local gkver=$kver

	case $kver in *-vsdebug) kargs="no5lvl kasan_multi_shot" gkver=${GUEST_KVER:-$kver} ;; esac
	rm -rf "$out"
	mkdir -p "$out"
	timeout --foreground -k 10 "$((TIMEOUT * SLOW))" \
	qemu-system-x86_64 -accel tcg,thread="$TCG_THREAD" -cpu max -smp "$smp" -m "$MEM" \
		-nodefaults -display none -no-reboot -serial stdio -monitor none \
		"${extra[@]}" \
		-kernel "$kernel" -initrd "$CACHE/build/$kver/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 log_buf_len=16M $kargs kvm.halt_poll_ns=0 lab.kver=$kver lab.guestkver=$gkver lab.top=$TOP lab.script=$script lab.cache=$CACHE lab.stress=$STRESS lab.slow=$SLOW ${LAB_APPEND:-}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$out",mount_tag=labout,security_model=none \
		</dev/null 2>&1 | if [ -n "${BOOT_QUIET:-}" ]; then
			cat >"$out/console.log"
		else
			tee "$out/console.log"
		fi || rc=$?
	[ -f "$out/exit" ] || { log "$kver: guest did not finish (qemu rc $rc)"; return 1; }
	return "$(cat "$out/exit")"
}

prepare() {
	local k kver
	need_pkgs $HOST_PKGS
	fetch_ksrc
	KVERS=()
	for k in $KERNELS; do
		if [ "$k" = debug ]; then
			# certs/ and scripts/sign-file need OpenSSL's headers.
			need_pkgs libssl-dev
			log "building the debug kernel (cached in $CACHE/debug)"
			kver=$("$LAB/debugkernel.sh" "$CACHE")
			# Its nested guests' kernel (boot).
			GUEST_KVER=$(resolve_kver 6.12)
			fetch_kernel "$GUEST_KVER"
		else
			kver=$(resolve_kver "$k")
			fetch_kernel "$kver"
		fi
		build_for "$kver"
		make_initramfs "$kver"
		KVERS+=("$kver")
	done
}

# Count results of one kernel's run: leaf test lines of the kselftest
# output (run_tests.sh adds one for a program that died without a result),
# and one test for the kernel's own word (kernel-check.sh: the boot's log
# and the tests', taint, lockdep still on).
tally() {
	local out=$1 p f s
	p=$(grep -cE '^# ok [0-9]+ ' "$out/ktap.log" || true)
	s=$(grep -cE '^# ok [0-9]+ .*# SKIP' "$out/ktap.log" || true)
	f=$(grep -cE '^# not ok [0-9]+ ' "$out/ktap.log" || true)
	p=$((p - s))
	if "$LAB/kernel-check.sh" "$out" >/dev/null 2>&1; then
		p=$((p + 1))
	else
		f=$((f + 1))
	fi
	echo "$p $f $s"
}

# Checks that need no guest: style, and -Werror builds of the tools. Sets
# tp/tf (in cmd_check) and adds a summary line.
host_checks() {
	local name hp=0 hf=0 p f lf
	for name in lint docs vspacectl; do
		if make -s -C "$TOP" "$name" >"$CACHE/results/host-$name.log" 2>&1; then
			hp=$((hp + 1))
		else
			hf=$((hf + 1))
			log "host check '$name' failed:"
			cat "$CACHE/results/host-$name.log" >&2
		fi
	done
	# Host-side test programs, one result per test case: the policy's
	# unit tests, vspacectl's golden-output tests, the kernel-log
	# checker's own tests and the test runner's.
	for name in policy vspacectl-golden kernel-check run-tests; do
		lf=$CACHE/results/host-$name.log
		case $name in
		policy) make -s -C "$TOP/selftests/policy" policy_test >"$lf" 2>&1 &&
			"$TOP/selftests/policy/policy_test" >>"$lf" 2>&1 ;;
		kernel-check) "$LAB/kernel-check-test.sh" >"$lf" 2>&1 ;;
		run-tests) "$TOP/selftests/run_tests-test.sh" >"$lf" 2>&1 ;;
		*) "$TOP/selftests/vspacectl/run.sh" >"$lf" 2>&1 ;;
		esac
		sed 's/^/# /' "$lf"
		p=$(grep -cE '^ok [0-9]+ ' "$lf" || true)
		f=$(grep -cE '^not ok [0-9]+ ' "$lf" || true)
		[ "$p" -gt 0 ] || f=$((f + 1))
		hp=$((hp + p)) hf=$((hf + f))
	done
	summary+=("host: $hp passed, $hf failed, 0 skipped")
	tp=$((tp + hp)) tf=$((tf + hf))
}

# run_one KVER RUN: one guest boot of a check; leaves its counts in
# OUT/tally ("passed failed skipped") and prints its results when done.
run_one() {
	local kver=$1 run=$2 out=$CACHE/results/$1 smp=$SMP p f s
	# The policy tests need CPUs to move, the stress tests CPUs to
	# unplug: boots of their own with 4.
	if [ "$run" != check ]; then
		out=$CACHE/results/$kver-$run
		smp=$((SMP > 4 ? SMP : 4))
	fi
	# The policy boot has 6: its tests run on 4 (guest-policy.sh keeps
	# the other two offline until then), the multiqueue guest's 4 queue
	# pairs need an I/O group of 4 cores beside the VM group.
	[ "$run" = policy ] && smp=$((SMP > 6 ? SMP : 6))
	# The topology boot: a host of two sockets, each a NUMA node of two
	# cores of two SMT threads (CPUs 0-3 and 4-7), its last CPU
	# isolated (isolcpus=).
	local append=${LAB_APPEND:-} extra=${LAB_QEMU_EXTRA:-} half
	if [ "$run" = topology ]; then
		half=$((MEM / 2))
		smp="8,sockets=2,cores=2,threads=2"
		append+=" isolcpus=7"
		# 6.1 reads SMT siblings only from Intel's CPUID leaves under
		# TCG (no AMD topology extensions); the boot needs no SVM.
		extra+=" -cpu max,vendor=GenuineIntel"
		extra+=" -object memory-backend-ram,id=lab-m0,size=${half}M"
		extra+=" -object memory-backend-ram,id=lab-m1,size=$((MEM - half))M"
		extra+=" -numa node,nodeid=0,cpus=0-3,memdev=lab-m0"
		extra+=" -numa node,nodeid=1,cpus=4-7,memdev=lab-m1"
	fi
	# make check runs the bpftrace scripts on one kernel (BT_KVER).
	[ -n "$ALL_BOOTS" ] || [ "$kver" = "${BT_KVER:-$kver}" ] ||
		append+=" lab.bpftrace=0"
	LAB_APPEND=$append LAB_QEMU_EXTRA=$extra BOOT_QUIET=1 \
		boot "$kver" "selftests/lab/guest-$run.sh" "$out" "$smp" || true
	touch "$out/ktap.log" "$out/dmesg.log"
	read -r p f s < <(tally "$out")
	# A guest that did not finish, or whose script failed or ran no
	# test, is a failure whatever it printed.
	if [ "$(cat "$out/exit" 2>/dev/null)" != 0 ] ||
	   ! grep -qE '^# (not )?ok ' "$out/ktap.log"; then
		log "$kver: the guest run is broken (see $out/console.log)"
		f=$((f + 1))
	fi
	echo "$p $f $s" >"$out/tally"
	{
		echo "== $kver ($run, ${smp%%,*} CPUs)"
		cat "$out/ktap.log"
		"$LAB/kernel-check.sh" "$out" >/dev/null 2>&1 ||
			{ "$LAB/kernel-check.sh" "$out" 2>&1 | sed 's/^/dmesg: /'; } || true
		echo "== $kver ($run): $p passed, $f failed, $s skipped"
	} | flock "$CACHE/results/.print" cat
}

cmd_check() {
	local kver out p f s tp=0 tf=0 ts=0 summary=() run job jobs=()
	local runs=${LAB_RUNS:-check stress policy topology}
	prepare
	mkdir -p "$CACHE/results"
	host_checks
	make -s -C "$TOP/selftests" KSRC="$CACHE/linux-source-6.12" all
	# Each TCG guest runs on one host thread: boot up to $JOBS at once,
	# the longest (check, then stress) first.
	# The policy boots last, beside each other only: their tests need the
	# guest to make load and see it answered, and a busy check or stress
	# guest on the same host cores stalls it (its waits then look like
	# demand). On a slow kernel (check-debug) the load tests skip
	# (SKIP_ON_SLOW_KERNEL), but eval_smoke's parallel burns do not:
	# beside the stress boot, each guest on its own host core, they took
	# 506 ms (2026-12-05), alone 447 to 478 ms, against some 666 ms
	# on one vCPU.
	# What make check leaves to check-full, to end within 45 minutes:
	# the policy boots but one, on 6.12 where there is one (the policy
	# is the same plain C on every kernel), the stress boot of 6.12
	# when 6.12-rt is there (6.1 stresses the kthread vhost workers,
	# 6.12-rt the vhost_tasks, under PREEMPT_RT), and the bpftrace
	# scripts but on that same kernel (they read tracepoints that are
	# the same on all; each compiles for a minute or more under TCG).
	local policy_kver=${KVERS[0]} rt=
	for kver in "${KVERS[@]}"; do
		[[ $kver == 6.12.* && $kver != *-rt-* ]] && policy_kver=$kver
		[[ $kver == *-rt-* ]] && rt=1
	done
	BT_KVER=$policy_kver
	for run in $(printf '%s\n' $runs | grep -vx policy) \
		   $(printf '%s\n' $runs | grep -x policy); do
		for kver in "${KVERS[@]}"; do
			# Topology is laid out by the same code on rt.
			[ "$run" = topology ] && [[ $kver == *-rt-* ]] && continue
			if [ -z "$ALL_BOOTS" ]; then
				[ "$run" = policy ] &&
					[ "$kver" != "$policy_kver" ] && continue
				[ "$run" = stress ] && [ -n "$rt" ] &&
					[[ $kver == 6.12.* && $kver != *-rt-* ]] && continue
			fi
			jobs+=("$kver $run")
		done
	done
	log "${#jobs[@]} guest boots, $JOBS at a time"
	# Killed, take the guests along.
	# (|| true: under set -e a failing trap would be the exit status.)
	trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
	local barrier=
	for job in "${jobs[@]}"; do
		if [ "${job#* }" = policy ] && [ -z "$barrier" ]; then
			barrier=1
			wait || true
		fi
		while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
			wait -n || true
		done
		log "booting ${job% *} (${job#* })"
		# shellcheck disable=SC2086
		run_one $job &
	done
	wait || true
	for job in "${jobs[@]}"; do
		kver=${job% *} run=${job#* }
		out=$CACHE/results/$kver
		[ "$run" = check ] || out=$CACHE/results/$kver-$run
		read -r p f s <"$out/tally" 2>/dev/null || { p=0 f=1 s=0; }
		summary+=("$kver ($run): $p passed, $f failed, $s skipped")
		# The failures by name, each after the last 4 lines its test
		# printed, here at the end where a CI excerpt (the log's
		# tail) shows them.
		# (The harness's own RUN/FAIL lines are not worth the room.)
		while IFS= read -r line; do
			summary+=("  $line")
		done < <(awk '/^# (not )?ok [0-9]+ / {
				if (/^# not ok/) {
					for (i = k > 4 ? k - 4 : 0; i < k; i++)
						print "  " substr(buf[i], 1, 160)
					print substr($0, 3)
				}
				k = 0
				next
			}
			/^(not )?ok [0-9]+ |^# TAP version/ { k = 0; next }
			/^# # +(RUN|OK|FAIL|SKIP|XFAIL|XPASS) |: Test (failed|terminated)/ { next }
			/^# / { buf[k++] = $0 }' "$out/ktap.log" 2>/dev/null | head -60)
		"$LAB/kernel-check.sh" "$out" >/dev/null 2>&1 ||
			summary+=("  not ok kernel log or state ($out/dmesg.log, boot-dmesg.log, end-dmesg.log, health)")
		tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
	done
	echo
	echo "== vspace lab results =="
	printf '%s\n' "${summary[@]}"
	echo "$tp passed, $tf failed, $ts skipped"
	[ "$tf" -eq 0 ]
}

# The demo runs vspacectl from userspace/: build it here, so `make demo`
# works on its own from a fresh clone.
cmd_demo() {
	local out=$CACHE/results/demo
	KERNELS=${LAB_KERNELS:-6.12}
	prepare
	make -s -C "$TOP/userspace"
	boot "${KVERS[-1]}" selftests/lab/guest-demo.sh "$out" ||
		die "the demo failed (see $out/console.log)"
	"$LAB/kernel-check.sh" "$out" || die "the kernel log or state shows a problem"
}

# Hook overhead: time follows executed instructions (-icount), so the
# comparison is not drowned in TCG's timing noise.
cmd_bench() {
	KERNELS=${LAB_KERNELS:-6.12}
	LAB_QEMU_EXTRA="-icount shift=0,sleep=off"
	prepare
	make -s -C "$TOP/selftests" KSRC="$CACHE/linux-source-6.12" all
	boot "${KVERS[-1]}" selftests/lab/guest-bench.sh "$CACHE/results/bench"
	echo
	cat "$CACHE/results/bench/bench.txt"
}

# Scale: the periodic work and the hooks at 10 to 10,000 managed threads
# beside 1,000 and 20,000 host processes, with -icount, on 6.1 and 6.12
# at once (one host thread each); SCALE_* in the environment go through the
# cache (see guest-scale.sh).
cmd_scale() {
	local kver out pids=() rc=0
	KERNELS=${LAB_KERNELS:-6.1 6.12}
	LAB_QEMU_EXTRA="-icount shift=0,sleep=off"
	MEM=${LAB_MEM:-8192}
	prepare
	make -s -C "$TOP/selftests" KSRC="$CACHE/linux-source-6.12" all
	local v
	for v in ${!SCALE_@}; do printf 'export %s=%q\n' "$v" "${!v}"; done >"$CACHE/scale-env"
	for kver in "${KVERS[@]}"; do
		# 6.1 hangs bringing up a second CPU under -icount (QEMU 7.2).
		BOOT_QUIET=1 boot "$kver" selftests/lab/guest-scale.sh \
			"$CACHE/results/scale-$kver" "$(case $kver in 6.1.*) echo 1 ;; *) echo 4 ;; esac)" &
		pids+=($!)
	done
	for kver in "${pids[@]}"; do wait "$kver" || rc=1; done
	out=$CACHE/results/scale.tsv
	: >"$out"
	for kver in "${KVERS[@]}"; do
		tail -n +2 "$CACHE/results/scale-$kver/scale.tsv" >>"$out" 2>/dev/null ||
			{ log "$kver: no results (see $CACHE/results/scale-$kver/console.log)"; rc=1; }
	done
	python3 "$LAB/scale-report.py" "$out" | tee "$CACHE/results/scale.txt"
	return $rc
}

# The evaluation: a longer run of selftests/eval/eval.py (EVAL_ARGS adds
# options), then plots; results go to Documentation/evaluation/.
cmd_eval() {
	local out=$CACHE/results/eval doc=$TOP/Documentation/evaluation
	KERNELS=${LAB_KERNELS:-6.12}
	need_pkgs gnuplot-nox
	prepare
	make -s -C "$TOP/selftests" KSRC="$CACHE/linux-source-6.12" all
	# The guest's environment is its own: options go through the cache.
	printf '%s\n' "${EVAL_ARGS:-}" >"$CACHE/eval-args"
	# The parallel lab (Documentation/evaluation.rst): 8 vCPUs whose
	# burn work overlaps in virtual time, one instruction per ns.
	LAB_QEMU_EXTRA="-icount shift=0,sleep=off"
	boot "${KVERS[-1]}" selftests/lab/guest-eval.sh "$out" "${EVAL_SMP:-8}" ||
		die "the evaluation did not finish (see $out/console.log)"
	"$LAB/kernel-check.sh" "$out" || die "the kernel log or state shows a problem"
	"$TOP/selftests/eval/plot.sh" "$out"
	mkdir -p "$doc"
	# A run without the arms vspace places draws no decisions.png.
	rm -f "$doc/decisions.png"
	cp "$out/eval.json" "$out/eval.txt" "$out"/*.png "$doc/"
	echo
	cat "$out/eval.txt"
	log "results in $doc"
}

cmd_run() {
	local kver rc=0
	prepare
	make -s -C "$TOP/selftests" KSRC="$CACHE/linux-source-6.12" all
	for kver in "${KVERS[@]}"; do
		boot "$kver" "$1" "$CACHE/results/run-$kver" || rc=1
	done
	return $rc
}

case ${1:-check} in
check) cmd_check ;;
check-full) STRESS=long ALL_BOOTS=1 TIMEOUT=${LAB_TIMEOUT:-7200} cmd_check ;;
check-debug)
	# The short stress: the checkers look at every path the long one
	# takes, and the long one runs on Debian's kernels (check-full).
	KERNELS=debug STRESS=short SLOW=4 ALL_BOOTS=1 TIMEOUT=${LAB_TIMEOUT:-7200} cmd_check
	;;
demo) cmd_demo ;;
bench) cmd_bench ;;
scale) cmd_scale ;;
# The full evaluation runs about an hour of guest time.
eval) TIMEOUT=${LAB_TIMEOUT:-7200} cmd_eval ;;
run) shift; cmd_run "$@" ;;
prepare) prepare ;;
*) die "usage: lab.sh check|check-full|check-debug|demo|bench|scale|eval|run SCRIPT|prepare" ;;
esac
