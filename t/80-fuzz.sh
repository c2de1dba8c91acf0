#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds every libFuzzer harness in fuzz/ with clang (ASan + UBSan) and runs
# each for FUZZ_SECONDS (default 8) from its seed corpus. A crash, leak or
# sanitizer report fails the test; the reproducer is kept in the log dir.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_cmd clang pkg-config

secs=${FUZZ_SECONDS:-8}
mk_tmpdir
work=$WGP_TMP
src=$top_srcdir

# name | sources | pkg-config modules
harnesses=(
	"jwt|fuzz/fuzz-jwt.c lib/jwt.c lib/keys.c|libsodium jansson"
	"keys|fuzz/fuzz-keys.c lib/keys.c|libsodium"
	"validate|fuzz/fuzz-validate.c lib/validate.c lib/ipnet.c|libsodium"
	"import|fuzz/fuzz-import.c lib/wgconf.c|"
	"config|fuzz/fuzz-config.c lib/config.c|yaml-0.1"
	"uapi|fuzz/fuzz-uapi.c reconciler/uapi-text.c reconciler/wgdev.c|libsodium"
	"body|fuzz/fuzz-body.c cgi/body.c cgi/http.c lib/validate.c lib/ipnet.c|jansson libsodium fcgi"
	"query|fuzz/fuzz-query.c cgi/query.c cgi/http.c|jansson fcgi"
)

# A trivial program proves clang can link libFuzzer at all.
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$work/probe.c"
if ! clang -fsanitize=fuzzer "$work/probe.c" -o "$work/probe" 2>/dev/null; then
	skip_all "clang cannot link libFuzzer (install libclang-rt-14-dev)"
fi

for h in "${harnesses[@]}"; do
	IFS='|' read -r name sources mods <<<"$h"
	if [ ! -f "$src/fuzz/fuzz-$name.c" ]; then
		fail "fuzz-$name: harness missing"
		continue
	fi
	files=()
	for s in $sources; do files+=("$src/$s"); done
	# shellcheck disable=SC2086 # pkg-config output is a word list
	if ! clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -I"$src/lib" -I"$src/reconciler" \
		"${files[@]}" ${mods:+$(pkg-config --cflags --libs $mods)} \
		-o "$work/fuzz-$name" 2>"$work/build-$name.log"; then
		fail "fuzz-$name builds"
		diag "$(tail -n 20 "$work/build-$name.log")"
		continue
	fi
	mkdir -p "$work/corpus-$name"
	[ -d "$src/fuzz/seeds/$name" ] && cp "$src/fuzz/seeds/$name"/* "$work/corpus-$name/" 2>/dev/null || true
	rc=0
	(cd "$work" && "./fuzz-$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 "corpus-$name" >"run-$name.log" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		pass "fuzz-$name: ${secs} s, $(sed -n 's/^stat::number_of_executed_units: *//p' "$work/run-$name.log") runs, no finding"
	else
		fail "fuzz-$name found a problem (exit $rc)"
		diag "$(grep -E 'ERROR|SUMMARY|==[0-9]+==|runtime error' "$work/run-$name.log" | head -n 20)"
		mkdir -p "${top_builddir}/fuzz-findings"
		cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "${top_builddir}/fuzz-findings/" 2>/dev/null || true
	fi
done
done_testing
