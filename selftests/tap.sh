# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers for vspace's shell selftests; source this file.
#   ok NAME, not_ok NAME   one result; not_ok sets failed=1
#   check NAME CMD...      ok if CMD succeeds, else not_ok
#   skip NAME REASON       one skipped result
#   skip_all REASON        the whole program skips (kselftest exit code 4)
#   vs_slow                how many times slower than a stock kernel this
#                          one is (vs_slow.sh)
# A result that took 20 s or more says so, so that a program which runs
# into its timeout shows where the time went.
n=0 failed=0 _tap_t=$SECONDS
_tap_took() {
	[ $((SECONDS - _tap_t)) -lt 20 ] || echo "# $((SECONDS - _tap_t)) s for the next result"
	_tap_t=$SECONDS
}
ok() { _tap_took; n=$((n + 1)); echo "ok $n $1"; }
not_ok() { _tap_took; n=$((n + 1)); failed=1; echo "not ok $n $1"; }
skip() { _tap_took; n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
skip_all() { echo "TAP version 13"; echo "1..0 # SKIP $1"; exit 4; }
# shellcheck source=vs_slow.sh
. "$(dirname "${BASH_SOURCE[0]}")/vs_slow.sh"
