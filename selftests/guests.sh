# SPDX-License-Identifier: GPL-2.0
#
# Tiny real KVM guests for vspace's tests and demo; source this file.
# Each guest is qemu-system-x86_64 -enable-kvm with 2 vCPUs, a virtio-net
# NIC on a tap with vhost=on (so a real vhost-net worker), a Debian kernel
# and a busybox initramfs that says when it is up.
#
#   guest_start NAME [qemu args...]   start it; prints its QEMU pid
#   guest_wait_up NAME [SECONDS]      wait until its kernel has booted
#   guest_why NAME                    its QEMU's threads, to say why not
#   guest_wait_vcpus PID [SECONDS]    wait until KVM has run both its vCPUs
#                                     (both limits times LAB_SLOW)
#   guest_tap NAME                    the host side of its NIC
#   guest_require                     skip the test unless guests can run
#   guest_stop NAME
#
# GUEST_KERNEL: the kernel to boot (default /boot/vmlinuz-$(uname -r)).
# VS_MACHINE_SLICE: when set (a cgroup such as /sys/fs/cgroup/machine.slice,
# see hostshape.sh), each QEMU runs as libvirt starts it: in a scope of its
# own there, machine-qemu-N-NAME.scope, and in a session of its own.
# GUEST_QUEUES: when set above 1, the NIC is multiqueue with that many
# queue pairs (queues=N, mq=on): QEMU opens /dev/vhost-net once per pair,
# so the guest has that many vhost-net workers.
# GUEST_SERVER, GUEST_SERVE: the evaluation's servers (make eval --kvm):
# GUEST_SERVER is a static reqserver binary to put in the initramfs, and
# GUEST_SERVE its options with commas for spaces (e.g. "-b,40,-c,2"); the
# guest brings eth0 up, starts reqserver on it, then says it is up.
# GUEST_SMP: vCPUs of a guest on a real KVM host (-cpu host; default 2).
# GUEST_IP: when set, the guest loads its virtio-net driver and takes this
# address (a /24) on eth0, so it answers pings. Such a guest runs 1 vCPU
# with QEMU's own interrupt controller and a plain CPU model: nested in the
# TCG lab, a guest with KVM's in-kernel LAPIC never gets a timer interrupt
# and stalls early in boot (measured on 6.1 and 6.12), and -cpu host with
# QEMU's controller trips over an MSR QEMU cannot set. The NIC is the same
# real vhost-net device either way.

GUEST_DIR=${GUEST_DIR:-/tmp/vspace-guests}

# guest_wait_up and guest_wait_vcpus scale their limits by vs_slow.
# shellcheck source=vs_slow.sh
. "$(dirname "${BASH_SOURCE[0]}")/vs_slow.sh"

GUEST_KERNEL=${GUEST_KERNEL:-/boot/vmlinuz-$(uname -r)}

# The guest kernel's virtio-net driver and what it needs, decompressed
# (busybox insmod reads neither .ko.xz nor modules.dep), in load order.
guest_net_modules() {
	local dir=$1 kver m path i=0 root=/
	kver=$(basename "$GUEST_KERNEL")
	kver=${kver#vmlinuz-}
	# A kernel unpacked as the lab does (DIR/boot/vmlinuz-KVER) has its
	# modules beside it, in DIR/lib/modules/KVER.
	case $GUEST_KERNEL in
	?*/boot/vmlinuz-*)
		[ -d "${GUEST_KERNEL%/boot/*}/lib/modules/$kver" ] &&
			root=${GUEST_KERNEL%/boot/*}
		;;
	esac
	mkdir -p "$dir"
	for m in virtio_pci virtio_net; do
		for path in $(modprobe -d "$root" -S "$kver" --show-depends "$m" 2>/dev/null |
			      awk '$1 == "insmod" { print $2 }'); do
			[ -e "$dir/$(basename "${path%.xz}")" ] && continue
			i=$((i + 1))
			case $path in
			*.xz) xz -dc "$path" >"$dir/$(basename "${path%.xz}")" ;;
			*) cp "$path" "$dir/" ;;
			esac || return 1
			basename "${path%.xz}" >>"$dir/order"
		done
	done
}

guest_initramfs() {
	local root=$GUEST_DIR/root$1 img=$GUEST_DIR/tiny$1.cpio.gz
	[ -f "$img" ] && return 0
	rm -rf "$root"
	mkdir -p "$root"/{bin,proc,sys,dev}
	cp "$(command -v busybox)" "$root/bin/busybox" || return 1
	if [ -n "$1" ]; then
		cp "$GUEST_SERVER" "$root/bin/reqserver" || return 1
	fi
	guest_net_modules "$root/mod" || return 1
	cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
for arg in $(cat /proc/cmdline); do
	case $arg in
	vspace.ip=*) ip=${arg#vspace.ip=} ;;
	vspace.serve=*) serve=${arg#vspace.serve=} ;;
	esac
done
if [ -n "$ip$serve" ]; then
	for m in $(cat /mod/order); do insmod /mod/$m; done
	ifconfig eth0 ${ip:+"$ip" netmask 255.255.255.0} up
fi
if [ -n "$serve" ]; then
	# A background job's stdin is /dev/null: the shell needs /dev.
	mount -t devtmpfs devtmpfs /dev
	/bin/reqserver $(echo "$serve" | tr , ' ') eth0 >/reqserver.log 2>&1 &
	i=0
	until grep -q '^reqserver up' /reqserver.log || [ $i -ge 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	cat /reqserver.log
	if ! grep -q '^reqserver up' /reqserver.log; then
		echo "tiny guest failed: no reqserver"
		while :; do sleep 1; done
	fi
fi
echo "tiny guest up"
while :; do sleep 1; done
INIT
	chmod 755 "$root/init"
	# Into place whole: an interrupted build leaves no image to reuse.
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$img.tmp" &&
		mv "$img.tmp" "$img"
}

# Run "$@" in a new session inside the cgroup $1: the subshell joins it
# before it execs, so QEMU and every thread and vhost worker it makes start
# there (6.1's vhost kthreads join their owner's cgroups at VHOST_SET_OWNER).
guest_scoped() {
	local scope=$1
	shift
	(
		echo "$BASHPID" >"$scope/cgroup.procs" || exit 1
		exec setsid -w "$@"
	)
}

guest_start() {
	local name=$1 n cpu=(-cpu host -smp "${GUEST_SMP:-2}")
	local append="console=ttyS0 quiet panic=-1" run=() q=${GUEST_QUEUES:-1}
	local mq="" mqdev="" flavour=""
	shift
	mkdir -p "$GUEST_DIR"
	if [ -n "${GUEST_SERVE:-}" ]; then
		# One image per kernel (its modules) and reqserver build.
		flavour=-serve-$(basename "$GUEST_KERNEL")-$(cksum <"$GUEST_SERVER" | cut -d' ' -f1)
		append+=" vspace.serve=$GUEST_SERVE"
	fi
	guest_initramfs "$flavour" || return 1
	modprobe -q tun; modprobe -q vhost_net
	n=0
	while [ -e "/sys/class/net/vstap$n" ]; do n=$((n + 1)); done
	if [ -n "${GUEST_IP:-}" ]; then
		cpu=(-cpu qemu64 -smp 1 -machine kernel_irqchip=off)
		append+=" vspace.ip=$GUEST_IP"
	fi
	if [ "$q" -gt 1 ]; then
		mq=",queues=$q"
		mqdev=",mq=on,vectors=$((2 * q + 2))"
	fi
	rm -f "$GUEST_DIR/$name.scope"
	if [ -n "${VS_MACHINE_SLICE:-}" ]; then
		# N: the tap's number, unique among running guests.
		run=(guest_scoped "$VS_MACHINE_SLICE/machine-qemu-$n-$name.scope")
		mkdir -p "${run[1]}" || return 1
		echo "${run[1]}" >"$GUEST_DIR/$name.scope"
	fi
	"${run[@]}" qemu-system-x86_64 -enable-kvm "${cpu[@]}" -m 128 \
		-nodefaults -display none -no-reboot "$@" \
		-kernel "$GUEST_KERNEL" -initrd "$GUEST_DIR/tiny$flavour.cpio.gz" \
		-append "$append" \
		-serial file:"$GUEST_DIR/$name.log" \
		-netdev tap,id=n0,ifname=vstap$n,script=no,downscript=no,vhost=on$mq \
		-device virtio-net-pci,netdev=n0$mqdev \
		-pidfile "$GUEST_DIR/$name.pid" -daemonize 2>>"$GUEST_DIR/$name.err" ||
		return 1
	echo "vstap$n" >"$GUEST_DIR/$name.tap"
	cat "$GUEST_DIR/$name.pid"
}

# Skip the whole test (skip_all, from tap.sh) unless KVM guests can run.
guest_require() {
	modprobe -q kvm_amd 2>/dev/null || modprobe -q kvm_intel 2>/dev/null
	[ -c /dev/kvm ] || skip_all "no /dev/kvm"
	command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64"
	[ -f "$GUEST_KERNEL" ] || skip_all "no guest kernel $GUEST_KERNEL (set GUEST_KERNEL)"
}

guest_tap() {
	cat "$GUEST_DIR/$1.tap"
}

guest_wait_up() {
	local name=$1 end=$((SECONDS + ${2:-120} * $(vs_slow))) pid
	# By the clock: on a slow kernel each look takes a while itself.
	while [ "$SECONDS" -lt "$end" ]; do
		grep -q 'tiny guest up' "$GUEST_DIR/$name.log" 2>/dev/null && return 0
		# QEMU gone (-no-reboot: a guest panic ends it; it removes its
		# pid file as it exits): never up.
		pid=$(cat "$GUEST_DIR/$name.pid" 2>/dev/null) || return 1
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 1
	done
	return 1
}

# What guest $1's QEMU is doing: alive or not, and each thread's name,
# state, time on CPU and waiting (schedstat) and where it sleeps.
guest_why() {
	local pid t st comm
	pid=$(cat "$GUEST_DIR/$1.pid" 2>/dev/null) ||
		{ echo "QEMU has exited (no pid file)"; return 0; }
	kill -0 "$pid" 2>/dev/null || { echo "QEMU $pid has exited"; return 0; }
	# Its threads and, on 6.1, its vhost kthreads.
	guest_threads "$pid" | while read -r t comm; do
		st=$(cat "/proc/$t/stat" 2>/dev/null) || continue
		st=${st##*) }	# the state, after the name (which has spaces)
		echo "$comm: ${st%% *} $(cat "/proc/$t/schedstat" 2>/dev/null) $(cat "/proc/$t/wchan" 2>/dev/null)"
	done
}

# Wait until KVM has run every vCPU of the guest with QEMU pid $1 at least
# once (its debugfs record of the vCPU thread is set), up to $2 seconds
# (times LAB_SLOW).
guest_wait_vcpus() {
	local pid=$1 t=$((${2:-60} * 5 * $(vs_slow))) n
	mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
	while [ "$t" -gt 0 ]; do
		n=$(kvm_vcpu_tids "$pid" | grep -vcx 0)
		[ "$n" -ge 2 ] && return 0
		sleep 0.2
		t=$((t - 1))
	done
	return 1
}

guest_stop() {
	local pid scope t
	pid=$(cat "$GUEST_DIR/$1.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	# A QEMU that does not take its SIGTERM within 10 s is killed.
	for ((t = 0; t < 50; t++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if [ $t = 50 ]; then
		kill -9 "$pid" 2>/dev/null
		while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
	fi
	# Its scope, once the last (kernel) thread has left it.
	if scope=$(cat "$GUEST_DIR/$1.scope" 2>/dev/null); then
		for ((t = 0; t < 50; t++)); do
			rmdir "$scope" 2>/dev/null || [ ! -d "$scope" ] && break
			sleep 0.1
		done
	fi
	rm -f "$GUEST_DIR/$1.pid" "$GUEST_DIR/$1.tap" "$GUEST_DIR/$1.scope"
}

# Every thread that belongs to a guest: its QEMU threads, and vhost kernel
# threads (6.1, kthread mode) named after its QEMU pid. "tid comm" per line.
guest_threads() {
	local pid=$1 t p comm
	for t in /proc/"$pid"/task/*; do
		read -r comm <"$t/comm"
		echo "${t##*/} $comm"
	done
	for p in /proc/[0-9]*; do
		read -r comm 2>/dev/null <"$p/comm" || continue
		[ "$comm" = "vhost-$pid" ] && [ "${p##*/}" != "$pid" ] &&
			echo "${p##*/} $comm"
	done
	return 0
}

# cpus_allowed TID: its Cpus_allowed_list. The file is read in one go:
# read a line at a time (as bash's read does, seeking back after each),
# procfs makes it again at each offset, and a line before that got
# shorter (a busy vCPU's State) shifts the rest; a test once read nothing.
cpus_allowed() {
	local s
	s=$(grep -m1 '^Cpus_allowed_list:' "/proc/$1/status" 2>/dev/null) || return 1
	s=${s//[[:space:]]/}
	echo "${s#*:}"
}

# The vCPU threads KVM itself records (debugfs), independent of names.
kvm_vcpu_tids() {
	cat /sys/kernel/debug/kvm/"$1"-*/vcpu*/pid 2>/dev/null | sort -n
}
