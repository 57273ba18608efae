# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers for vspace's shell selftests; source this file.
#   ok NAME, not_ok NAME   one result; not_ok sets failed=1
#   check NAME CMD...      ok if CMD succeeds, else not_ok
#   skip_all REASON        the whole program skips (kselftest exit code 4)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
skip_all() { echo "TAP version 13"; echo "1..0 # SKIP $1"; exit 4; }
