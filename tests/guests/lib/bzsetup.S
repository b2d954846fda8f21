/*
 * The real-mode part of a fake bzImage: just enough of the Linux boot protocol's setup
 * header (Documentation/arch/x86/boot.rst) for a 64-bit boot loader to accept it.
 */
	.section .bzsetup, "a"
	.code16
setup_start:
	.org 0x1f1
	.byte 1 /* setup_sects: 1 sector after the boot sector */
	.word 0 /* root_flags */
	.long bz_syssize /* syssize, 16-byte paragraphs */
	.word 0 /* ram_size */
	.word 0xffff /* vid_mode */
	.word 0 /* root_dev */
	.word 0xaa55 /* boot_flag */
	.byte 0xeb, hdr_end - setup_start - 0x202 /* jump over the header */
	.ascii "HdrS" /* 0x202 */
	.word 0x020f /* version 2.15 */
	.long 0 /* realmode_swtch */
	.word 0 /* start_sys_seg */
	.word 0 /* kernel_version */
	.byte 0 /* type_of_loader (0x210) */
	.byte 0x01 /* loadflags: LOADED_HIGH */
	.word 0 /* setup_move_size */
	.long 0x100000 /* code32_start */
	.long 0 /* ramdisk_image (0x218) */
	.long 0 /* ramdisk_size */
	.long 0 /* bootsect_kludge */
	.word 0 /* heap_end_ptr (0x224) */
	.byte 0 /* ext_loader_ver */
	.byte 0 /* ext_loader_type */
	.long 0 /* cmd_line_ptr (0x228) */
	.long 0x7fffffff /* initrd_addr_max */
	.long 0x200000 /* kernel_alignment */
	.byte 0 /* relocatable_kernel */
	.byte 21 /* min_alignment (2 MiB) */
	.word 0x0001 /* xloadflags: XLF_KERNEL_64 (0x236) */
	.long 2047 /* cmdline_size */
	.long 0 /* hardware_subarch */
	.quad 0 /* hardware_subarch_data */
	.long 0 /* payload_offset */
	.long 0 /* payload_length */
	.quad 0 /* setup_data */
	.quad 0x1000000 /* pref_address (0x258) */
	.long bz_init_size /* init_size (0x260) */
	.long 0 /* handover_offset */
	.long 0 /* kernel_info_offset */
hdr_end:
	.org 0x400

	.section .note.GNU-stack, "", @progbits
