#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_NAME.c) into build/fuzz/ and runs each for
# SECONDS on a work copy of its seed corpus, then prints one line per target. Exits 1 if any
# target crashed (or leaked, timed out, ran out of memory): its reproducer is kept under
# build/fuzz/crashes/NAME/ and its path printed. Exits 2 if the build or the toolchain fails.
#
#   scripts/run-fuzz.sh SECONDS [TARGET...]      TARGET: bzimage, fuzz_bzimage or a path
#
# Environment: FUZZ_CC (default clang), FUZZ_JOBS (targets run side by side; default: the
# number of CPUs), FUZZ_TIMEOUT (seconds one input may take; default 10), FUZZ_ARGS (more
# libFuzzer flags). Work corpora in build/fuzz/corpus-NAME grow from run to run; the seeds in
# tests/fuzz/corpus/NAME/ are copied in and never written. See tests/fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	echo "usage: scripts/run-fuzz.sh SECONDS [TARGET...]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
seconds=$1
shift
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || usage

CC=${FUZZ_CC:-clang}
OUT=build/fuzz
JOBS=${FUZZ_JOBS:-$(nproc)}
TIMEOUT=${FUZZ_TIMEOUT:-10}

# The toolchain: clang and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev).
check_toolchain() {
	local missing=() p probe
	probe=$(mktemp -d)
	echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }' \
		>"$probe/probe.c"
	if command -v "$CC" >/dev/null &&
		"$CC" -fsanitize=fuzzer,address,undefined -o "$probe/probe" "$probe/probe.c" \
			>/dev/null 2>&1; then
		rm -rf "$probe"
		return 0
	fi
	rm -rf "$probe"
	for p in clang libclang-rt-14-dev; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	echo "run-fuzz: '$CC' cannot build libFuzzer targets (-fsanitize=fuzzer)." >&2
	if [ ${#missing[@]} -gt 0 ]; then
		echo "run-fuzz: missing packages: ${missing[*]}; run 'make deps' or" \
			"'apt-get install ${missing[*]}'" >&2
	else
		echo "run-fuzz: set FUZZ_CC to a clang that ships libFuzzer" >&2
	fi
	exit 2
}

# Target names from the arguments, or every tests/fuzz/fuzz_*.c.
targets=()
if [ $# -eq 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do
		t=${src##*/fuzz_}
		targets+=("${t%.c}")
	done
else
	for arg in "$@"; do
		t=${arg##*/}
		t=${t%.c}
		t=${t#fuzz_}
		if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
			echo "run-fuzz: no target '$arg' (tests/fuzz/fuzz_$t.c)" >&2
			exit 2
		fi
		targets+=("$t")
	done
fi

check_toolchain
mkdir -p "$OUT"
echo "run-fuzz: building ${#targets[@]} targets into $OUT/"
bins=()
for t in "${targets[@]}"; do
	bins+=("$OUT/fuzz_$t")
done
if ! make -f tests/fuzz/fuzz.mk -j"$(nproc)" FUZZ_CC="$CC" FUZZ_OUT="$OUT" "${bins[@]}" \
	>"$OUT/build.log" 2>&1; then
	cat "$OUT/build.log" >&2
	echo "run-fuzz: build failed (log: $OUT/build.log)" >&2
	exit 2
fi

run_target() {
	local t=$1
	local work=$OUT/corpus-$t crashes=$OUT/crashes/$t args=()
	mkdir -p "$work" "$crashes"
	if [ -d "tests/fuzz/corpus/$t" ]; then
		cp -n "tests/fuzz/corpus/$t"/* "$work"/ 2>/dev/null || true
	fi
	[ -f "tests/fuzz/$t.dict" ] && args+=("-dict=tests/fuzz/$t.dict")
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
	"$OUT/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout="$TIMEOUT" \
		-artifact_prefix="$crashes/" "${args[@]}" ${FUZZ_ARGS:-} "$work" \
		>"$OUT/$t.log" 2>&1
}

echo "run-fuzz: ${seconds}s per target, $JOBS at a time: ${targets[*]}"
running=0
for t in "${targets[@]}"; do
	if [ "$running" -ge "$JOBS" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	(run_target "$t" && echo 0 >"$OUT/$t.rc" || echo $? >"$OUT/$t.rc") &
	running=$((running + 1))
done
wait

# One line per target from libFuzzer's final stats and its last status line.
failed=0
for t in "${targets[@]}"; do
	log=$OUT/$t.log
	rc=$(cat "$OUT/$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -a ' cov: ' "$log" | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	if [ "$rc" -eq 0 ]; then
		verdict=ok
	else
		verdict=CRASH
		failed=1
	fi
	printf 'fuzz %-16s %-5s %10s execs %7s/s  cov: %-5s ft: %-6s corpus %s\n' "$t" "$verdict" \
		"${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
	if [ "$rc" -ne 0 ]; then
		what=$(grep -a -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|property violated' "$log" || true)
		repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		echo "     ${what:-libFuzzer exited with status $rc}"
		if [ -n "$repro" ]; then
			echo "     reproducer: $repro"
			echo "     reproduce:  $OUT/fuzz_$t $repro"
		fi
		echo "     log:        $log"
	fi
done
exit "$failed"
