/* Prints the TSC frequency in kHz, measured against CLOCK_MONOTONIC over 200 ms. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(void)
{
	uint64_t t0 = now_ns(), c0 = __rdtsc(), t1, c1;

	do
		t1 = now_ns();
	while (t1 - t0 < 200000000u);
	c1 = __rdtsc();
	printf("%llu\n", (unsigned long long)((c1 - c0) * 1000000 / (t1 - t0)));
	return 0;
}
