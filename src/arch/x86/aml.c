#include "arch/x86/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Small resource descriptor tags (ACPI 6.5 section 6.4.2): type << 3 | length. */
#define RES_IRQ_NOFLAGS 0x22 /* IRQ descriptor, length 2 (no information byte) */
#define RES_IO		0x47 /* I/O port descriptor, length 7 */
#define RES_END_TAG	0x79 /* End tag, length 1 */
#define RES_IO_DECODE16 0x01
/* Large resource descriptor tags (section 6.4.3). */
#define RES_DWORD_ADDR 0x87
#define RES_WORD_ADDR  0x88
#define RES_QWORD_ADDR 0x8a
/* Address space general flags: _MAF | _MIF, positive decode, bit 0 clear = producer. */
#define RES_ADDR_FIXED_PRODUCER 0x0c
#define RES_IO_ENTIRE_RANGE	0x03
#define RES_MEM_READ_WRITE	0x01

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

int aml_error(const struct aml *a)
{
	return a->err;
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static bool aml_reserve(struct aml *a, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (a->err)
		return false;
	if (n <= a->cap - a->len)
		return true;
	if (n > SIZE_MAX / 2 - a->len) {
		aml_fail(a, -ENOMEM);
		return false;
	}
	cap = a->cap ? a->cap : 256;
	while (cap - a->len < n)
		cap *= 2;
	p = realloc(a->buf, cap);
	if (!p) {
		aml_fail(a, -ENOMEM);
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!aml_reserve(a, n))
		return;
	if (n)
		memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Inserts n bytes at pos, moving what follows. */
static void aml_insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	if (pos > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (!aml_reserve(a, n))
		return;
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

static void aml_le(struct aml *a, uint64_t v, unsigned int width)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, width);
}

/*
 * Section 20.2.4: one byte holds lengths up to 63 in bits 5:0. Otherwise bits 7:6 of the
 * lead byte count the 1-3 bytes that follow, the lead byte's bits 3:0 hold the low nibble
 * and each following byte the next 8 bits. The length includes the PkgLength bytes.
 */
size_t aml_pkg_length_encode(size_t body_len, uint8_t out[4])
{
	size_t n, total;

	for (n = 1; n <= 4; n++) {
		total = body_len + n;
		if (total < body_len)
			return 0;
		if (n == 1 && total <= 0x3f) {
			out[0] = (uint8_t)total;
			return 1;
		}
		if (n > 1 && total < (1ULL << (4 + 8 * (n - 1)))) {
			out[0] = (uint8_t)((n - 1) << 6 | (total & 0x0f));
			for (size_t i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
			return n;
		}
	}
	return 0;
}

void aml_close(struct aml *a, size_t mark)
{
	uint8_t pkg[4];
	size_t n;

	if (a->err)
		return;
	if (mark > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	n = aml_pkg_length_encode(a->len - mark, pkg);
	if (!n) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_insert(a, mark, pkg, n);
}

static bool name_char(char c, bool lead)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

void aml_name_string(struct aml *a, const char *path)
{
	const char *p = path;
	size_t nseg = 0;

	if (*p == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == AML_PARENT_PREFIX) {
			aml_byte(a, AML_PARENT_PREFIX);
			p++;
		}
	}
	if (!*p) {
		if (p == path) /* "" names nothing; "\\" or "^" is a prefix + NullName */
			aml_fail(a, -EINVAL);
		aml_byte(a, AML_ZERO_OP);
		return;
	}
	/* Validate and count first, so the prefix can precede the segments. */
	for (const char *s = p;; s++) {
		size_t len = 0;

		while (s[len] && s[len] != '.') {
			if (len == 4 || !name_char(s[len], len == 0)) {
				aml_fail(a, -EINVAL);
				return;
			}
			len++;
		}
		if (!len) {
			aml_fail(a, -EINVAL);
			return;
		}
		nseg++;
		s += len;
		if (!*s)
			break;
	}
	if (nseg > 255) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (nseg == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nseg > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nseg);
	}
	while (*p) {
		char seg[4] = {'_', '_', '_', '_'};

		for (size_t i = 0; *p && *p != '.'; i++)
			seg[i] = *p++;
		aml_bytes(a, seg, 4);
		if (*p == '.')
			p++;
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v == UINT64_MAX) {
		aml_byte(a, AML_ONES_OP); /* all ones: the DSDT is revision 2 (64-bit integers) */
	} else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

/* String := StringPrefix AsciiCharList NullChar, chars 0x01-0x7f (section 20.2.3). */
void aml_string(struct aml *a, const char *s)
{
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c > 0x7f) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * EISAID (ACPI 6.5 section 19.6.35): three letters as 5-bit values ('A' = 1) packed into
 * a 16-bit vendor id, then the four hex digits as a 16-bit product id, both stored big
 * endian. Read as a little-endian dword, "PNP0501" becomes 0x0105d041.
 */
int aml_eisaid_encode(const char *id, uint32_t *out)
{
	uint8_t b[4];
	uint16_t vendor = 0, product = 0;

	if (strlen(id) != 7)
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		vendor = (uint16_t)(vendor << 5 | (id[i] - 'A' + 1));
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);
		if (d < 0)
			return -EINVAL;
		product = (uint16_t)(product << 4 | d);
	}
	b[0] = (uint8_t)(vendor >> 8);
	b[1] = (uint8_t)vendor;
	b[2] = (uint8_t)(product >> 8);
	b[3] = (uint8_t)product;
	*out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;
	int r = aml_eisaid_encode(id, &v);

	if (r) {
		aml_fail(a, r);
		return;
	}
	/* Always a DWordConst, like iasl, so the value is recognisable as an EISAID. */
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, v, 4);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

void aml_name_string_value(struct aml *a, const char *name, const char *s)
{
	aml_name(a, name);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name(a, name);
	aml_eisaid(a, id);
}

size_t aml_scope_open(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_SCOPE_OP);
	mark = a->len;
	aml_name_string(a, name);
	return mark;
}

size_t aml_device_open(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	mark = a->len;
	aml_name_string(a, name);
	return mark;
}

size_t aml_package_open(struct aml *a, uint8_t nelems)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE_OP);
	mark = a->len;
	aml_byte(a, nelems);
	return mark;
}

size_t aml_method_open(struct aml *a, const char *name, unsigned int nargs, bool serialized)
{
	size_t mark;

	if (nargs > 7)
		aml_fail(a, -EINVAL);
	aml_byte(a, AML_METHOD_OP);
	mark = a->len;
	aml_name_string(a, name);
	/* MethodFlags: bits 2:0 ArgCount, bit 3 SerializeFlag, bits 7:4 SyncLevel 0. */
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return mark;
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

void aml_method_return_integer(struct aml *a, const char *name, uint64_t v)
{
	size_t m = aml_method_open(a, name, 0, false);

	aml_return(a);
	aml_integer(a, v);
	aml_close(a, m);
}

/* DefBuffer := BufferOp PkgLength BufferSize ByteList; BufferSize is a TermArg. */
static void aml_buffer_close(struct aml *a, size_t mark)
{
	struct aml size = {0};

	if (a->err)
		return;
	if (mark > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_integer(&size, a->len - mark);
	if (size.err) {
		aml_fail(a, size.err);
	} else {
		aml_insert(a, mark, size.buf, size.len);
		aml_close(a, mark);
	}
	aml_free(&size);
}

void aml_buffer(struct aml *a, const void *p, size_t n)
{
	size_t mark;

	aml_byte(a, AML_BUFFER_OP);
	mark = a->len;
	aml_bytes(a, p, n);
	aml_buffer_close(a, mark);
}

size_t aml_restemplate_open(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	return a->len;
}

size_t aml_name_restemplate_open(struct aml *a, const char *name)
{
	aml_name(a, name);
	return aml_restemplate_open(a);
}

void aml_restemplate_close(struct aml *a, size_t mark)
{
	/* End tag with checksum 0: OSPM then treats the template as valid (6.4.2.9). */
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0);
	aml_buffer_close(a, mark);
}

void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_byte(a, RES_IO);
	aml_byte(a, RES_IO_DECODE16);
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_irq_noflags(struct aml *a, unsigned int irq)
{
	if (irq > 15) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, RES_IRQ_NOFLAGS);
	aml_le(a, 1U << irq, 2); /* _INT: bit mask of IRQs */
}

/*
 * Word/DWord/QWord address space descriptors share one layout (sections 6.4.3.5.1-3):
 * tag, 16-bit length, resource type, general flags, type-specific flags, then granularity,
 * min, max, translation offset and length, each `width` bytes.
 */
static void aml_addr_space(struct aml *a, uint8_t tag, unsigned int width, uint8_t type,
			   uint8_t type_flags, uint64_t min, uint64_t max)
{
	uint64_t field_max = width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1;
	uint64_t len = max - min + 1;

	if (min > max || max > field_max || len == 0 || len > field_max) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, tag);
	aml_le(a, 3 + 5 * width, 2);
	aml_byte(a, type);
	aml_byte(a, RES_ADDR_FIXED_PRODUCER);
	aml_byte(a, type_flags);
	aml_le(a, 0, width); /* granularity: none needed for fixed windows */
	aml_le(a, min, width);
	aml_le(a, max, width);
	aml_le(a, 0, width); /* translation offset */
	aml_le(a, len, width);
}

void aml_word_bus_number(struct aml *a, uint16_t min, uint16_t max)
{
	aml_addr_space(a, RES_WORD_ADDR, 2, AML_RES_BUS_NUMBER, 0, min, max);
}

void aml_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	aml_addr_space(a, RES_WORD_ADDR, 2, AML_RES_IO, RES_IO_ENTIRE_RANGE, min, max);
}

static uint8_t mem_flags(struct aml *a, unsigned int cache)
{
	if (cache > AML_MEM_PREFETCHABLE)
		aml_fail(a, -EINVAL);
	/* bits 2:1 _MEM, bit 0 _RW (section 6.4.3.5.5) */
	return (uint8_t)((cache & 3) << 1 | RES_MEM_READ_WRITE);
}

void aml_dword_memory(struct aml *a, uint32_t min, uint32_t max, unsigned int cache)
{
	aml_addr_space(a, RES_DWORD_ADDR, 4, AML_RES_MEMORY, mem_flags(a, cache), min, max);
}

void aml_qword_memory(struct aml *a, uint64_t min, uint64_t max, unsigned int cache)
{
	aml_addr_space(a, RES_QWORD_ADDR, 8, AML_RES_MEMORY, mem_flags(a, cache), min, max);
}
