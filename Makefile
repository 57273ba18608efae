# SPDX-License-Identifier: GPL-2.0
#
#   make                  build module/vspace.ko and userspace/vspacectl
#   make KDIR=...         build against another kernel's headers
#   make lint             checkpatch --strict over module/ and include/
#   make docs             the Documentation/ pages parse cleanly
#   sudo make check       the test lab: real Debian kernels under QEMU
#                         (6.1, 6.12, 6.12-rt), short stress tests
#   sudo make check-full  the same with the long stress tests
#   sudo make check-debug build a KASAN/lockdep/kmemleak kernel and run
#                         everything, the short stress included, on it
#   sudo make demo        boot a lab guest and show vspace working
#   sudo make bench       hook overhead benchmark in a lab guest
#   sudo make eval        vspace against the default scheduler and static pinning
#   sudo make install     install the module (and depmod), vspacectl, the
#                         libvirt hook, the systemd unit, the bpftrace scripts
#   sudo make dkms-install  register the sources with DKMS

KDIR ?= /lib/modules/$(shell uname -r)/build
CACHE ?= $(CURDIR)/.cache
VERSION := $(shell sed -n 's/^\#define VSPACE_VERSION "\(.*\)"/\1/p' module/vspace.h)

all: module vspacectl

# VSPACE_WERROR=y: warnings are errors (developers, the lab); DKMS builds
# without it.
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) VSPACE_WERROR=$(VSPACE_WERROR) modules

vspacectl:
	$(MAKE) -C userspace

selftests:
	$(MAKE) -C selftests

# compat.h exists to compare kernel versions, so only it may. The modes
# and the decision reasons are X-macro lists (one definition each, enum
# and names made from it), which checkpatch reads as complex macros with
# unused arguments: only those two headers are let off those checks.
CHECKPATCH = $$(selftests/lab/ksrc.sh $(CACHE))/scripts/checkpatch.pl \
	--strict --no-tree --quiet --show-types
XMACRO_HEADERS = module/policy.h include/uapi/vspace.h
lint:
	@$(CHECKPATCH) -f $(filter-out module/compat.h $(XMACRO_HEADERS) %.mod.c,$(wildcard module/*.c module/*.h include/uapi/*.h selftests/burn/*.c selftests/burn/*.h))
	@$(CHECKPATCH) --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f module/compat.h
	@$(CHECKPATCH) --ignore COMPLEX_MACRO,MACRO_ARG_REUSE,MACRO_ARG_UNUSED -f $(XMACRO_HEADERS)
	@echo "checkpatch: clean"

# The reStructuredText pages must parse without warnings.
docs:
	@for f in Documentation/*.rst; do \
		python3 -m docutils --halt=warning "$$f" /dev/null || exit 1; \
	done
	@echo "docs: clean"

check:
	bash selftests/lab/lab.sh check

# Not part of check: the long stress tests (300 VMs, 50 rmmods, minutes of
# affinity fights and fuzzing) on every lab kernel, about 90 minutes.
check-full:
	bash selftests/lab/lab.sh check-full

# Not part of check: builds the debug kernel once (cached in .cache/debug)
# and runs the whole suite on it; see Documentation/testing.rst.
check-debug:
	bash selftests/lab/lab.sh check-debug

demo:
	bash selftests/lab/lab.sh demo

# Not part of check: hook overhead with -icount, about 10 minutes.
bench:
	bash selftests/lab/lab.sh bench

# Not part of check: the periodic work and the hooks from 10 to 10,000
# managed threads beside 1,000 and 20,000 processes, on 6.1 and 6.12.
scale:
	bash selftests/lab/lab.sh scale

# Not part of check (which runs a smoke version): vspace against the
# default scheduler and static pinning in the parallel lab (8 vCPUs,
# -icount, burn work), 10 seeds, about an hour; EVAL_ARGS=--quick for a
# few minutes.
eval:
	bash selftests/lab/lab.sh eval

install: all
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	depmod -a $(shell basename $$(dirname $$(readlink -f $(KDIR))) 2>/dev/null) || depmod -a
	$(MAKE) -C userspace install
	install -D -m 0755 userspace/libvirt/vspace-hook $(DESTDIR)/etc/libvirt/hooks/qemu.d/vspace
	install -D -m 0644 userspace/systemd/vspace.service $(DESTDIR)/etc/systemd/system/vspace.service
	install -d $(DESTDIR)/usr/local/share/vspace/bpftrace
	install -m 0755 userspace/bpftrace/*.bt $(DESTDIR)/usr/local/share/vspace/bpftrace/
	[ -e $(DESTDIR)/etc/vspace.conf ] || \
		install -D -m 0644 userspace/vspace.conf.example $(DESTDIR)/etc/vspace.conf

dkms-install:
	rm -rf /usr/src/vspace-$(VERSION)
	mkdir -p /usr/src/vspace-$(VERSION)
	cp -a Kbuild Makefile dkms.conf module include /usr/src/vspace-$(VERSION)/
	dkms add vspace/$(VERSION)
	dkms install vspace/$(VERSION)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests clean

.PHONY: all module vspacectl selftests lint docs check check-full check-debug demo bench scale eval install dkms-install clean
