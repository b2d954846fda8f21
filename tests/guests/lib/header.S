/*
 * Boot headers for images loaded with --kernel: a multiboot v1 header using the a.out kludge
 * (flag 16: load addresses from the header, so the ELF64 class does not matter) and a PVH
 * entry note (Xen ELF note 18). Both enter _start32 in 32-bit protected mode.
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS ((1 << 0) | (1 << 1) | (1 << 16)) /* page-aligned modules, memory info, addresses */

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header /* header_addr */
	.long _image_start /* load_addr */
	.long _load_end /* load_end_addr */
	.long _image_end /* bss_end_addr */
	.long _start32 /* entry_addr */

	.section .note.pvh, "a"
	.align 4
	.long 4 /* name size */
	.long 4 /* desc size */
	.long 18 /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start32

	.section .note.GNU-stack, "", @progbits
