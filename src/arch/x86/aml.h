/*
 * A tiny AML (ACPI Machine Language) byte-code builder for the DSDT (ACPI 6.5 chapter 20).
 *
 * Everything appends to one growable buffer. Errors (-ENOMEM, -EINVAL for a bad name or
 * argument) are sticky: after the first one every call is a no-op, and the caller checks
 * aml_error() once at the end. Nothing aborts.
 *
 * Objects whose encoding starts with a PkgLength (Scope, Device, Package, Method, Buffer)
 * are built open/close style, since the length is only known once the body is:
 *
 *	size_t sb = aml_scope_open(a, "\\_SB_");
 *	size_t dev = aml_device_open(a, "COM1");
 *	aml_name_eisaid(a, "_HID", "PNP0501");
 *	size_t crs = aml_name_restemplate_open(a, "_CRS");
 *	aml_io(a, 0x3f8, 0x3f8, 1, 8);
 *	aml_restemplate_close(a, crs);
 *	aml_close(a, dev);
 *	aml_close(a, sb);
 */
#ifndef KVMBOX_ARCH_X86_AML_H
#define KVMBOX_ARCH_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* AML opcodes (ACPI 6.5 section 20.3). */
#define AML_ZERO_OP	      0x00
#define AML_ONE_OP	      0x01
#define AML_NAME_OP	      0x08
#define AML_BYTE_PREFIX	      0x0a
#define AML_WORD_PREFIX	      0x0b
#define AML_DWORD_PREFIX      0x0c
#define AML_STRING_PREFIX     0x0d
#define AML_QWORD_PREFIX      0x0e
#define AML_SCOPE_OP	      0x10
#define AML_BUFFER_OP	      0x11
#define AML_PACKAGE_OP	      0x12
#define AML_METHOD_OP	      0x14
#define AML_DUAL_NAME_PREFIX  0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX     0x5b
#define AML_DEVICE_OP	      0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR	      '\\'
#define AML_PARENT_PREFIX     '^'
#define AML_RETURN_OP	      0xa4
#define AML_ONES_OP	      0xff

/* PkgLength counts itself and can describe at most 2^28 - 1 bytes (section 20.2.4). */
#define AML_PKG_LENGTH_MAX 0x0fffffffU

/* Address space resource descriptor types and flags (ACPI 6.5 section 6.4.3.5). */
#define AML_RES_MEMORY		0
#define AML_RES_IO		1
#define AML_RES_BUS_NUMBER	2
#define AML_MEM_NON_CACHEABLE	0
#define AML_MEM_CACHEABLE	1
#define AML_MEM_WRITE_COMBINING 2
#define AML_MEM_PREFETCHABLE	3

struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err; /* first error, 0 if none */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* 0, or the first error (-ENOMEM, -EINVAL) hit while building. */
int aml_error(const struct aml *a);

/* Raw bytes. */
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/*
 * Encodes a PkgLength for a body of body_len bytes (the PkgLength counts its own 1-4
 * bytes too). Returns the number of bytes written to out[4], or 0 if too long.
 */
size_t aml_pkg_length_encode(size_t body_len, uint8_t out[4]);

/*
 * NameString: optional '\' or '^'..., then 1-4 character segments separated by '.';
 * short segments are padded with '_' ("_SB" == "_SB_"). Examples: "\\_SB_", "COM1",
 * "_SB_.PCI0", "\\" (the root itself).
 */
void aml_name_string(struct aml *a, const char *path);

/* Data objects. Integers use the shortest encoding (Zero, One, Ones, Byte.. QWordConst). */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* Compresses "PNP0501" into the EISA id dword 0x0105d041. Returns 0 or -EINVAL. */
int aml_eisaid_encode(const char *id, uint32_t *out);
void aml_eisaid(struct aml *a, const char *id);

/* Name(name, ...): emits NameOp + NameString; the caller appends one data object. */
void aml_name(struct aml *a, const char *name);
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_string_value(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

/*
 * Open a PkgLength object; returns a mark for aml_close(), which inserts the PkgLength in
 * front of the body built in between. Opens and closes nest like braces.
 */
size_t aml_scope_open(struct aml *a, const char *name);
size_t aml_device_open(struct aml *a, const char *name);
/* Package(nelems): the caller appends exactly nelems data objects. */
size_t aml_package_open(struct aml *a, uint8_t nelems);
/* Method(name, nargs 0..7, Serialized/NotSerialized). */
size_t aml_method_open(struct aml *a, const char *name, unsigned int nargs, bool serialized);
void aml_close(struct aml *a, size_t mark);

/* Return(...): the caller appends the value. */
void aml_return(struct aml *a);
/* Method(name, 0, NotSerialized) { Return(v) } -- e.g. _STA. */
void aml_method_return_integer(struct aml *a, const char *name, uint64_t v);

/* Buffer(n) { bytes } with fixed contents. */
void aml_buffer(struct aml *a, const void *p, size_t n);

/*
 * ResourceTemplate () { ... }: a Buffer of resource descriptors (ACPI 6.5 section 6.4).
 * aml_restemplate_close() appends the EndTag (checksum 0 = "treat as valid") and inserts
 * the Buffer's PkgLength and size.
 */
size_t aml_restemplate_open(struct aml *a);
/* Name(name, ResourceTemplate () { ...: shorthand for aml_name() + aml_restemplate_open(). */
size_t aml_name_restemplate_open(struct aml *a, const char *name);
void aml_restemplate_close(struct aml *a, size_t mark);

/* IO(Decode16, min, max, align, len) (section 6.4.2.5). */
void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags() {irq}: edge-triggered, active-high, exclusive ISA IRQ 0..15 (6.4.2.1). */
void aml_irq_noflags(struct aml *a, unsigned int irq);
/*
 * Address space descriptors as a bridge produces them (ResourceProducer, MinFixed,
 * MaxFixed, PosDecode; section 6.4.3.5), _LEN = max - min + 1. min > max or a _LEN
 * that does not fit the field is -EINVAL.
 */
void aml_word_bus_number(struct aml *a, uint16_t min, uint16_t max);
/* WordIO(..., EntireRange): an I/O window. */
void aml_word_io(struct aml *a, uint16_t min, uint16_t max);
/* DWordMemory/QWordMemory(..., cache, ReadWrite): an MMIO window; cache is AML_MEM_*. */
void aml_dword_memory(struct aml *a, uint32_t min, uint32_t max, unsigned int cache);
void aml_qword_memory(struct aml *a, uint64_t min, uint64_t max, unsigned int cache);

#endif
