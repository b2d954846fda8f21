/*
 * mem_access: data reaches its destination intact, whatever the path: registers, RAM
 * (unaligned and page-crossing, also across discontiguous physical pages), MMIO of every
 * width (checked through the test device's last-access registers), port I/O of every width
 * and the string forms through the FIFO, and page-table updates seen after invlpg or a CR3
 * reload. Needs --test-device; without it the MMIO and PIO checks must FAIL.
 */
#include "guest.h"

typedef uint16_t u16_un __attribute__((aligned(1), may_alias));
typedef uint32_t u32_un __attribute__((aligned(1), may_alias));
typedef uint64_t u64_un __attribute__((aligned(1), may_alias));

static uint8_t pages[3][4096] ALIGNED(4096);
static uint8_t io_buf[2][8192] ALIGNED(4096);
#define WIN(i)	  (TEST_WINDOW + 4096ul * (i))
#define MMIO(off) (TEST_DEV_MMIO + (off))

static void map(int i, void *phys, uint64_t flags)
{
	test_pt[i] = flags ? ((uint64_t)phys & PTE_ADDR) | flags : 0;
	invlpg((void *)WIN(i));
}

/* ---- registers ---- */

static uint64_t rol(uint64_t v, int n)
{
	return v << n | v >> (64 - n);
}

/* Moves a pattern through every GPR, rotating at each hop so a lost move shows. */
static uint64_t reg_chain(void *arg)
{
	uint64_t v = (uint64_t)arg;

	asm volatile("push %%rbx; push %%rbp; push %%r12; push %%r13; push %%r14; push %%r15\n"
		     "mov %0, %%rbx; rol $1, %%rbx\n"
		     "mov %%rbx, %%rcx; rol $2, %%rcx\n"
		     "mov %%rcx, %%rdx; rol $3, %%rdx\n"
		     "mov %%rdx, %%rsi; rol $4, %%rsi\n"
		     "mov %%rsi, %%rdi; rol $5, %%rdi\n"
		     "mov %%rdi, %%rbp; rol $6, %%rbp\n"
		     "mov %%rbp, %%r8; rol $7, %%r8\n"
		     "mov %%r8, %%r9; rol $8, %%r9\n"
		     "mov %%r9, %%r10; rol $9, %%r10\n"
		     "mov %%r10, %%r11; rol $10, %%r11\n"
		     "mov %%r11, %%r12; rol $11, %%r12\n"
		     "mov %%r12, %%r13; rol $12, %%r13\n"
		     "mov %%r13, %%r14; rol $13, %%r14\n"
		     "mov %%r14, %%r15; rol $14, %%r15\n"
		     "xchg %%r15, %%rax; bswap %%rax; bswap %%rax\n"
		     "movzwl %%ax, %%ecx; movsbq %%cl, %%rdx; shr $16, %%rax; shl $16, %%rax\n"
		     "or %%rcx, %%rax\n"
		     "pop %%r15; pop %%r14; pop %%r13; pop %%r12; pop %%rbp; pop %%rbx"
		     : "+a"(v)
		     :
		     : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
	return v;
}

/* ---- RAM ---- */

/* Writes then reads every page-straddling position for widths 2, 4, 8; returns mismatches. */
static uint64_t straddle(void *base)
{
	volatile uint8_t *b = base;
	uint64_t bad = 0;

	for (int w = 2; w <= 8; w *= 2) {
		for (int k = 1; k < w; k++) {
			volatile uint8_t *p = b + 4096 - k;
			uint64_t val = 0x8877665544332211ull ^ ((uint64_t)w << 56 | (uint64_t)k);
			uint64_t got;
			for (int i = -1; i <= w; i++)
				p[i] = 0xee;
			if (w == 2)
				*(volatile u16_un *)p = (uint16_t)val;
			else if (w == 4)
				*(volatile u32_un *)p = (uint32_t)val;
			else
				*(volatile u64_un *)p = val;
			got = w == 2   ? *(volatile u16_un *)p
			      : w == 4 ? *(volatile u32_un *)p
				       : *(volatile u64_un *)p;
			if (got != (w == 8 ? val : val & ((1ull << (8 * w)) - 1)))
				bad++;
			for (int i = 0; i < w; i++)
				if (p[i] != (uint8_t)(val >> (8 * i)))
					bad++;
			if (p[-1] != 0xee || p[w] != 0xee)
				bad++; /* neighbours untouched */
		}
	}
	return bad;
}

static void ram_checks(void)
{
	uint64_t bad;
	uint8_t copy[64];

	printf("mem_access: RAM\n");
	report(straddle(pages[0]) == 0,
	       "ring 0: unaligned 2/4/8-byte stores and loads straddling a 4 KiB boundary");
	report(run_user(straddle, pages[0], false) == 0,
	       "ring 3: unaligned 2/4/8-byte stores and loads straddling a 4 KiB boundary");
	/* Virtual pages 0 and 1 of the window backed by physical pages 2 and 0 (out of order). */
	map(0, pages[2], PTE_P | PTE_W | PTE_U);
	map(1, pages[0], PTE_P | PTE_W | PTE_U);
	bad = straddle((void *)WIN(0));
	report(bad == 0, "ring 0: page-crossing accesses over discontiguous physical pages");
	*(volatile u64_un *)(WIN(1) - 4) = 0x0807060504030201ull;
	barrier(); /* the compiler cannot see that the window aliases pages[] */
	report(*(uint32_t *)&pages[2][4092] == 0x04030201 && *(uint32_t *)pages[0] == 0x08070605,
	       "ring 0: the two halves land in the right physical pages (0x%x, 0x%x)",
	       *(uint32_t *)&pages[2][4092], *(uint32_t *)pages[0]);
	bad = run_user(straddle, (void *)WIN(0), false);
	report(bad == 0, "ring 3: page-crossing accesses over discontiguous physical pages");
	memcpy(copy, (void *)(WIN(1) - 32), sizeof(copy));
	report(!memcmp(copy, &pages[2][4064], 32) && !memcmp(copy + 32, pages[0], 32),
	       "ring 0: rep movsb across discontiguous physical pages");
	/* FS-relative addressing. */
	wrmsr(MSR_FS_BASE, (uint64_t)pages[1]);
	pages[1][0x40] = 0x77;
	{
		uint8_t v;
		asm volatile("movb %%fs:0x40, %0" : "=r"(v));
		report(v == 0x77, "ring 0: FS-base-relative load (0x%x)", v);
	}
	wrmsr(MSR_FS_BASE, 0);
}

/* ---- MMIO ---- */

static uint64_t mmio_rd(uint64_t off, int w)
{
	switch (w) {
	case 1:
		return mmio_read8(MMIO(off));
	case 2:
		return mmio_read16(MMIO(off));
	case 4:
		return mmio_read32(MMIO(off));
	default:
		return mmio_read64(MMIO(off));
	}
}

static void mmio_wr(uint64_t off, int w, uint64_t v)
{
	switch (w) {
	case 1:
		mmio_write8(MMIO(off), (uint8_t)v);
		break;
	case 2:
		mmio_write16(MMIO(off), (uint16_t)v);
		break;
	case 4:
		mmio_write32(MMIO(off), (uint32_t)v);
		break;
	default:
		mmio_write64(MMIO(off), v);
		break;
	}
}

static void mmio_one(uint64_t off, int w)
{
	uint64_t mask = w == 8 ? ~0ull : (1ull << (8 * w)) - 1;
	uint64_t val = (0xf1e2d3c4b5a69788ull ^ off * 0x0101010101010101ull) & mask;
	uint64_t c0 = mmio_read64(MMIO(TEST_DEV_COUNT)), c1, c2, len, loff, lval, back;

	mmio_wr(off, w, val);
	c1 = mmio_read64(MMIO(TEST_DEV_COUNT));
	len = mmio_read64(MMIO(TEST_DEV_LAST_LEN));
	loff = mmio_read64(MMIO(TEST_DEV_LAST_OFF));
	lval = mmio_read64(MMIO(TEST_DEV_LAST_VAL));
	back = mmio_rd(off, w);
	c2 = mmio_read64(MMIO(TEST_DEV_COUNT));
	report(c1 == c0 + 1 && len == (uint64_t)w && loff == off && lval == val && back == val &&
		   c2 == c1 + 1,
	       "MMIO %d-byte write at 0x%03lx: one access of width %lu at 0x%lx value 0x%lx, "
	       "read back 0x%lx",
	       w, off, len, loff, lval, back);
}

static uint64_t user_mmio(void *arg)
{
	mmio_write32(MMIO(0x600), 0xcafe0001);
	return mmio_read32(MMIO(0x600));
}

static void mmio_checks(void)
{
	static const struct {
		uint64_t off;
		int w;
	} cases[] = {
	    {0x100, 1}, {0x108, 2}, {0x110, 4}, {0x118, 8}, {0x121, 2},
	    {0x133, 4}, {0x145, 8}, {0x7f8, 8}, {0x7ff, 1},
	};
	uint8_t bytes[8];
	uint64_t src[4] = {0x1111111111111111, 0x2222222222222222, 0x3333333333333333,
			   0x4444444444444444};
	uint64_t v, c0;
	bool ok;

	printf("mem_access: MMIO (test device at 0x%lx)\n", TEST_DEV_MMIO);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		mmio_one(cases[i].off, cases[i].w);
	mmio_write64(MMIO(0x200), 0x1122334455667788ull);
	for (int i = 0; i < 8; i++)
		bytes[i] = mmio_read8(MMIO(0x200 + i));
	report(bytes[0] == 0x88 && bytes[3] == 0x55 && bytes[7] == 0x11,
	       "MMIO 8-byte store reads back little-endian byte by byte (%02x %02x .. %02x)",
	       bytes[0], bytes[1], bytes[7]);
	v = mmio_read32(MMIO(0x202));
	report(v == 0x33445566, "MMIO 4-byte load at an unaligned offset (0x%lx)", v);
	/* String instructions: the emulator splits them into element-sized MMIO accesses. */
	c0 = mmio_read64(MMIO(TEST_DEV_COUNT));
	asm volatile("cld; rep movsq"
		     : "+S"((uint64_t *){src}), "+D"((uint64_t){MMIO(0x300)}), "+c"((uint64_t){4})
		     :
		     : "memory");
	ok = mmio_read64(MMIO(0x300)) == src[0] && mmio_read64(MMIO(0x318)) == src[3];
	report(ok && mmio_read64(MMIO(TEST_DEV_COUNT)) == c0 + 6,
	       "rep movsq RAM -> MMIO: 4 elements arrive in order");
	report(mmio_read64(MMIO(TEST_DEV_LAST_LEN)) == 8,
	       "rep movsq RAM -> MMIO uses 8-byte accesses (last width %lu)",
	       mmio_read64(MMIO(TEST_DEV_LAST_LEN)));
	v = run_user(user_mmio, NULL, false);
	report(v == 0xcafe0001 && mmio_read64(MMIO(TEST_DEV_LAST_OFF)) == 0x600,
	       "ring 3: MMIO store and load (0x%lx)", v);
	v = mmio_read32(TEST_DEV_MMIO + 0x1000);
	report(v == 0xffffffff, "unclaimed MMIO reads as all ones (0x%lx)", v);
}

/* ---- port I/O ---- */

static void pio_one(int w, uint16_t port, uint32_t val)
{
	uint64_t c0 = mmio_read64(MMIO(TEST_DEV_COUNT)), len, off, lval;
	uint32_t back;

	if (w == 1)
		outb(port, (uint8_t)val);
	else if (w == 2)
		outw(port, (uint16_t)val);
	else
		outl(port, val);
	len = mmio_read64(MMIO(TEST_DEV_LAST_LEN));
	off = mmio_read64(MMIO(TEST_DEV_LAST_OFF));
	lval = mmio_read64(MMIO(TEST_DEV_LAST_VAL));
	back = w == 1 ? inb(port) : w == 2 ? inw(port) : inl(port);
	report(len == (uint64_t)w && off == (uint64_t)(port - TEST_DEV_PORT) && lval == val &&
		   back == val && mmio_read64(MMIO(TEST_DEV_COUNT)) == c0 + 2,
	       "PIO %d-byte out to port 0x%x: width %lu offset %lu value 0x%lx, in 0x%x", w, port,
	       len, off, lval, back);
}

static void pio_checks(void)
{
	uint8_t *src = io_buf[0] + 4096 - 150, *dst = io_buf[1] + 4096 - 100;
	uint16_t words[64], wback[64];
	uint32_t dwords[16], dback[16];
	uint64_t c0;
	char seq[8] = {0};
	int bad = 0;
	uint8_t v;

	printf("mem_access: port I/O (test device at 0x%x)\n", TEST_DEV_PORT);
	pio_one(1, 0xe0, 0x5a);
	pio_one(1, 0xe7, 0xa5);
	pio_one(2, 0xe0, 0xbeef);
	pio_one(2, 0xe3, 0x1234);
	pio_one(2, 0xe6, 0xfeed);
	pio_one(4, 0xe0, 0xdeadbeef);
	pio_one(4, 0xe4, 0x01020304);
	pio_one(4, 0xe1, 0xa1b2c3d4);

	/* FIFO: rep outsb/insb of 300 bytes from and to buffers that straddle pages. */
	for (int i = 0; i < 300; i++)
		src[i] = (uint8_t)(i * 7 + 3);
	c0 = mmio_read64(MMIO(TEST_DEV_COUNT));
	outsb(TEST_DEV_FIFO, src, 300);
	report(mmio_read64(MMIO(TEST_DEV_COUNT)) == c0 + 300,
	       "rep outsb of 300 bytes is 300 one-byte port accesses (count +%lu)",
	       mmio_read64(MMIO(TEST_DEV_COUNT)) - c0);
	insb(TEST_DEV_FIFO, dst, 300);
	for (int i = 0; i < 300; i++)
		bad += dst[i] != (uint8_t)(i * 7 + 3);
	report(bad == 0, "rep insb returns the 300 bytes in order (%d wrong)", bad);
	v = inb(TEST_DEV_FIFO);
	report(v == 0xff, "empty FIFO reads 0xff (0x%x)", v);

	/* Single and string accesses interleave in program order. */
	outb(TEST_DEV_FIFO, 'a');
	outb(TEST_DEV_FIFO, 'b');
	outsb(TEST_DEV_FIFO, "cdef", 4);
	outb(TEST_DEV_FIFO, 'g');
	insb(TEST_DEV_FIFO, seq, 7);
	report(!memcmp(seq, "abcdefg", 7), "outb and rep outsb keep program order (\"%s\")", seq);

	/* DF=1: rep outsb walks the buffer backwards. */
	asm volatile("std; rep outsb; cld"
		     : "+S"((const char *){"0123456789" + 9}), "+c"((uint64_t){10})
		     : "d"(TEST_DEV_FIFO)
		     : "memory");
	memset(seq, 0, sizeof(seq));
	insb(TEST_DEV_FIFO, seq, 4);
	report(!memcmp(seq, "9876", 4),
	       "rep outsb with DF=1 sends bytes in descending order (\"%s\")", seq);
	insb(TEST_DEV_FIFO, seq, 6); /* drain */

	/* A full FIFO drops what does not fit. */
	for (int i = 0; i < 8192; i++)
		io_buf[0][i] = (uint8_t)(i ^ (i >> 8));
	outsb(TEST_DEV_FIFO, io_buf[0], 4096 + 16);
	insb(TEST_DEV_FIFO, io_buf[1], 4096);
	bad = memcmp(io_buf[0], io_buf[1], 4096) != 0;
	v = inb(TEST_DEV_FIFO);
	report(!bad && v == 0xff, "4112 bytes into the 4096-byte FIFO: first 4096 kept in order, "
				  "rest dropped");

	/* rep outsw/insw and outsl/insl on scratch ports. */
	for (int i = 0; i < 64; i++)
		words[i] = (uint16_t)(0x1000 + i * 3);
	c0 = mmio_read64(MMIO(TEST_DEV_COUNT));
	outsw(0xe2, words, 64);
	report(mmio_read64(MMIO(TEST_DEV_COUNT)) == c0 + 64 &&
		   mmio_read64(MMIO(TEST_DEV_LAST_LEN)) == 2 &&
		   mmio_read64(MMIO(TEST_DEV_LAST_OFF)) == 2 &&
		   mmio_read64(MMIO(TEST_DEV_LAST_VAL)) == words[63],
	       "rep outsw of 64 words: 64 two-byte accesses to offset 2, last 0x%lx",
	       mmio_read64(MMIO(TEST_DEV_LAST_VAL)));
	insw(0xe2, wback, 64);
	bad = 0;
	for (int i = 0; i < 64; i++)
		bad += wback[i] != words[63];
	report(bad == 0, "rep insw reads the scratch word 64 times (%d wrong)", bad);
	for (int i = 0; i < 16; i++)
		dwords[i] = 0xa0000000u + (uint32_t)i;
	asm volatile("cld; rep outsl"
		     : "+S"((uint32_t *){dwords}), "+c"((uint64_t){16})
		     : "d"(0xe4)
		     : "memory");
	asm volatile("cld; rep insl"
		     : "+D"((uint32_t *){dback}), "+c"((uint64_t){16})
		     : "d"(0xe4)
		     : "memory");
	report(dback[0] == dwords[15] && dback[15] == dwords[15] &&
		   mmio_read64(MMIO(TEST_DEV_LAST_LEN)) == 4,
	       "rep outsl/insl on a scratch port (0x%x)", dback[0]);
	{
		uint8_t b = inb(0x1234);
		uint16_t w = inw(0x1234);
		uint32_t l = inl(0x1234);
		report(b == 0xff && w == 0xffff && l == 0xffffffff,
		       "unclaimed ports read as all ones (0x%x 0x%x 0x%x)", b, w, l);
	}
}

/* ---- page tables ---- */

static uint64_t user_peek(void *addr)
{
	return *(volatile uint8_t *)addr;
}

static void fault_read(void *addr)
{
	(void)*(volatile uint8_t *)addr;
}

static void paging_checks(void)
{
	volatile uint8_t *w = (volatile uint8_t *)WIN(10);
	uint64_t pte;
	int v;

	printf("mem_access: page tables\n");
	memset(pages[0], 'A', 4096);
	memset(pages[1], 'B', 4096);
	map(10, pages[0], PTE_P | PTE_W | PTE_U);
	report(w[5] == 'A', "window page mapped to page A reads 'A' ('%c')", w[5]);
	report(run_user(user_peek, (void *)w, false) == 'A', "ring 3 sees page A too");
	test_pt[10] = (uint64_t)pages[1] | PTE_P | PTE_W | PTE_U;
	invlpg(w);
	report(w[5] == 'B', "remapped to page B + invlpg: reads 'B' ('%c')", w[5]);
	report(run_user(user_peek, (void *)w, false) == 'B', "ring 3 sees page B after invlpg");
	test_pt[10] = (uint64_t)pages[0] | PTE_P | PTE_W | PTE_U;
	write_cr3(read_cr3());
	report(w[5] == 'A', "remapped to page A + CR3 reload: reads 'A' ('%c')", w[5]);
	report(run_user(user_peek, (void *)w, false) == 'A', "ring 3 sees page A after CR3 reload");
	w[7] = 'z';
	barrier();
	report(pages[0][7] == 'z', "a store through the window lands in page A");

	/* Two virtual pages, one physical page. */
	map(11, pages[1], PTE_P | PTE_W | PTE_U);
	map(12, pages[1], PTE_P | PTE_W | PTE_U);
	*(volatile uint8_t *)(WIN(11) + 100) = 'q';
	report(*(volatile uint8_t *)(WIN(12) + 100) == 'q', "aliased mapping sees the store");

	/* Accessed and dirty bits. */
	map(13, pages[1], PTE_P | PTE_W | PTE_U);
	(void)*(volatile uint8_t *)WIN(13);
	pte = test_pt[13];
	report((pte & 0x20) && !(pte & 0x40),
	       "a load sets the PTE's accessed bit, not dirty (0x%lx)", pte);
	*(volatile uint8_t *)WIN(13) = 1;
	pte = test_pt[13];
	report((pte & 0x60) == 0x60, "a store sets the PTE's dirty bit (0x%lx)", pte);
	map(14, pages[1], PTE_P | PTE_W | PTE_U);
	run_user(user_peek, (void *)WIN(14), false);
	pte = test_pt[14];
	report((pte & 0x20) && !(pte & 0x40),
	       "a ring-3 load sets the accessed bit, not dirty (0x%lx)", pte);

	/* Unmapping is seen after invlpg, in both rings. */
	map(10, NULL, 0);
	v = run_catching(fault_read, (void *)w);
	report(v == PF_VECTOR, "unmapped + invlpg: ring 0 load faults (vector %d)", v);

	/* A 2 MiB page in the window: PD entry 1 maps physical 0-2 MiB at TEST_WINDOW + 2 MiB. */
	test_pd[1] = 0 | PTE_P | PTE_W | PTE_U | PTE_PS;
	invlpg((void *)(TEST_WINDOW + (2ul << 20) + (uint64_t)pages[0] % (2ul << 20)));
	if ((uint64_t)pages[0] < (2ul << 20)) {
		volatile uint8_t *big =
		    (volatile uint8_t *)(TEST_WINDOW + (2ul << 20) + (uint64_t)pages[0]);
		report(big[1] == 'A', "2 MiB page: low RAM through a large mapping ('%c')", big[1]);
	} else {
		report_skip("2 MiB page check: image above 2 MiB");
	}
	test_pd[1] = 0;
	write_cr3(read_cr3());
}

int main(void)
{
	uint64_t pat = 0x0123456789abcdefull, want = pat;

	printf("mem_access: registers\n");
	for (int i = 1; i <= 14; i++)
		want = rol(want, i);
	want = (want & ~0xffffull) | (want & 0xffff); /* the tail only reshuffles the low word */
	report(reg_chain((void *)pat) == want,
	       "ring 0: a value survives moves through all 15 GPRs");
	report(run_user(reg_chain, (void *)pat, false) == want,
	       "ring 3: a value survives moves through all 15 GPRs");
	ram_checks();
	mmio_checks();
	pio_checks();
	paging_checks();
	return 0;
}
