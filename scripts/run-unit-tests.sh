#!/usr/bin/env bash
# Runs each cmocka unit-test binary given and prints one closing summary line.
set -u
passed=0 failed=0 bad_bins=()
for bin in "$@"; do
	out=$("$bin" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		failed=$((failed + 1)) # crashed before cmocka could count
	fi
	[ "$rc" -ne 0 ] && bad_bins+=("$(basename "$bin")")
done
echo "unit: $passed passed, $failed failed"
if [ ${#bad_bins[@]} -ne 0 ]; then
	echo "failing unit test binaries: ${bad_bins[*]}"
	exit 1
fi
