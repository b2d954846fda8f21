#!/usr/bin/env python3
"""Regenerates the seed corpora in tests/fuzz/corpus/ (all but virtqueue/, which has its own).

Each seed is small and names what it exercises. The operation encodings match the comments
at the top of each tests/fuzz/fuzz_NAME.c; keep them in step when a target changes.

    tests/fuzz/make-seeds.py [--bzimage PATH]

The bzimage seeds are cut from a real guest kernel: PATH, else build/guest/bzImage, else the
newest one in ~/.cache/kvmbox (or $KVMBOX_CACHE). Without one, they are left as they are.
"""
import argparse
import glob
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import tiny_elf  # noqa: E402

MiB = 1 << 20


def write_corpus(name, seeds):
    d = os.path.join(CORPUS, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for fname, data in seeds.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)
    print(f"{name}: {len(seeds)} seeds, {sum(len(v) for v in seeds.values())} bytes")


# --- bzImage -----------------------------------------------------------------------------

def find_bzimage(explicit):
    if explicit:
        return explicit
    built = os.path.join(ROOT, "build", "guest", "bzImage")
    if os.path.exists(built):
        return built
    cache = os.environ.get("KVMBOX_CACHE", os.path.expanduser("~/.cache/kvmbox"))
    found = glob.glob(os.path.join(cache, "guest", "kernel-*", "linux-source-6.1", "arch",
                                   "x86", "boot", "bzImage"))
    return max(found, key=os.path.getmtime) if found else None


def bzimage_fit(head, length, setup_sects=None, pref_address=None):
    """The first `length` bytes with syssize patched so the header agrees with the length."""
    img = bytearray(head[:length])
    if setup_sects is not None:
        img[0x1f1] = setup_sects
    sects = img[0x1f1] or 4
    payload = length - (sects + 1) * 512
    struct.pack_into("<I", img, 0x1f4, payload // 16)
    if pref_address is not None:
        struct.pack_into("<Q", img, 0x258, pref_address)
    return bytes(img)


def bzimage_seeds(path):
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    setup = (head[0x1f1] + 1) * 512
    return {
        "real-64k-truncated": head,  # refused: shorter than its header says
        "real-header-1k": head[:1024],
        "real-32k-fits": bzimage_fit(head, 32 * 1024),
        "real-setup-plus-4k-fits": bzimage_fit(head, setup + 4096),
        # A kernel with setup_sects 0 (means 4) and a small payload.
        "small-setup-sects-0": bzimage_fit(head[:setup] + head[setup:setup + 1024], 5 * 512 + 1024,
                                           setup_sects=0),
        # pref_address 0: loaded at the default 16 MiB.
        "no-pref-address": bzimage_fit(head, setup + 2048, pref_address=0),
    }


# --- PVH (ELF64) -------------------------------------------------------------------------

def elf64(segments, notes, entry, extra_phdrs=()):
    """segments: [(paddr, data, memsz)]; notes: [(name, type, desc)] in one PT_NOTE."""
    note = b""
    for name, ntype, desc in notes:
        n = name + b"\0"
        note += struct.pack("<III", len(n), len(desc), ntype)
        note += n + b"\0" * (-len(n) % 4) + desc + b"\0" * (-len(desc) % 4)
    nph = len(segments) + 1 + len(extra_phdrs)
    off = 64 + 56 * nph
    note_off = off
    off += len(note)
    body = note
    phdrs = []
    for paddr, data, memsz in segments:
        pad = -off % 16
        body += b"\0" * pad
        off += pad
        phdrs.append(struct.pack("<IIQQQQQQ", 1, 5, off, paddr, paddr, len(data), memsz, 16))
        body += data
        off += len(data)
    phdrs.append(struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(note), len(note), 4))
    phdrs.extend(extra_phdrs)
    ehdr = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, b"\0" * 7, 2, 62,
                       1, entry, 64, 0, 0, 64, 56, nph, 64, 0, 0)
    return ehdr + b"".join(phdrs) + body


def pvh_seeds():
    L = tiny_elf.LOAD_ADDR
    code = tiny_elf.serial_print("hi\n") + tiny_elf.halt_forever()
    xen_entry4 = (b"Xen", tiny_elf.XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<I", L))
    return {
        "hello-poweroff": tiny_elf.hello_poweroff("hi\n"),
        "crash": tiny_elf.crash(),
        "reset-via-i8042": tiny_elf.reset_via_i8042(),
        "entry-offset": tiny_elf.build(tiny_elf.halt_forever() * 2, entry_offset=4),
        # Like a real vmlinux: other notes first, an 8-byte entry, code plus bss, two segments.
        "notes-bss-two-segments": elf64(
            [(L, code, len(code) + 0x1000), (L + 0x4000, b"\x90" * 64, 64)],
            [(b"GNU", 3, b"\x11" * 20), (b"Xen", 1, b"\0" * 8), (b"Linux", 1, b"6.1\0"),
             (b"Xen", tiny_elf.XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<Q", L))],
            L),
        # A non-load header (PT_GNU_STACK) and an all-bss segment.
        "gnu-stack-all-bss": elf64(
            [(L, code, len(code)), (L + 0x10000, b"", 0x2000)], [xen_entry4], L,
            extra_phdrs=[struct.pack("<IIQQQQQQ", 0x6474e551, 6, 0, 0, 0, 0, 0, 16)]),
        "no-pvh-note": elf64([(L, code, len(code))], [(b"GNU", 3, b"\x22" * 20)], L),
    }


# --- multiboot ---------------------------------------------------------------------------

MB_MAGIC = 0x1BADB002
MB_PAGE_ALIGN, MB_MEMORY_INFO, MB_AOUT_KLUDGE = 1, 2, 1 << 16


def mb_header(flags, addrs=None, checksum=None):
    if checksum is None:
        checksum = -(MB_MAGIC + flags) & 0xffffffff
    h = struct.pack("<III", MB_MAGIC, flags, checksum)
    if addrs is not None:
        h += struct.pack("<IIIII", *addrs)  # header, load, load_end, bss_end, entry
    return h


def aout_image(prefix=0x40, code_len=0x200, tail=0x40, bss=0x1000, load=2 * MiB,
               load_end=True, flags=MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_AOUT_KLUDGE,
               checksum=None):
    """[prefix, not loaded][header][code][tail past load_end]; loaded from the header on."""
    header_addr = load
    load_size = 32 + code_len
    addrs = (header_addr, load, load + load_size if load_end else 0,
             load + load_size + bss if bss else 0, load + 32)
    code = tiny_elf.serial_print("mb\n") + tiny_elf.halt_forever()
    code = code + b"\x90" * (code_len - len(code))
    return b"\0" * prefix + mb_header(flags, addrs, checksum) + code + b"\xcc" * tail


def elf32_multiboot(flags=MB_PAGE_ALIGN | MB_MEMORY_INFO, higher_half=True, elf_class=1):
    """ELF32 (or, with elf_class 2, an ELF64 ident): two PT_LOADs and a PT_GNU_STACK."""
    vbase = 0xC0000000 if higher_half else 0
    pa, pb = 1 * MiB, 1 * MiB + 0x2000
    code = tiny_elf.serial_print("mb elf\n") + tiny_elf.halt_forever()
    seg_a = mb_header(flags) + code + b"\0" * 16
    seg_b = b"\x5a" * 64
    off_a = 52 + 3 * 32
    off_b = off_a + len(seg_a)
    ehdr = struct.pack("<4sBBBBB7sHHIIIIIHHHHHH", b"\x7fELF", elf_class, 1, 1, 0, 0, b"\0" * 7,
                       2, 3, 1, vbase + pa + 12, 52, 0, 0, 52, 32, 3, 40, 0, 0)
    ph = struct.pack("<IIIIIIII", 1, off_a, vbase + pa, pa, len(seg_a), len(seg_a) + 0x1000, 5,
                     0x1000)
    ph += struct.pack("<IIIIIIII", 0x6474e551, 0, 0, 0, 0, 0x1000, 6, 16)
    ph += struct.pack("<IIIIIIII", 1, off_b, vbase + pb, pb, len(seg_b), len(seg_b), 6, 0x1000)
    return ehdr + ph + seg_a + seg_b


def elf32_many_segments(n):
    """An ELF32 multiboot kernel with n one-page PT_LOADs (kvmbox takes at most 16)."""
    phoff = 52
    body_off = phoff + 32 * n
    code = mb_header(MB_PAGE_ALIGN | MB_MEMORY_INFO) + tiny_elf.halt_forever()
    ehdr = struct.pack("<4sBBBBB7sHHIIIIIHHHHHH", b"\x7fELF", 1, 1, 1, 0, 0, b"\0" * 7, 2, 3,
                       1, 1 * MiB + 12, phoff, 0, 0, 52, 32, n, 40, 0, 0)
    ph = b"".join(struct.pack("<IIIIIIII", 1, body_off, 1 * MiB + i * 0x1000, 1 * MiB + i * 0x1000,
                              len(code), 0x1000, 5, 0x1000) for i in range(n))
    return ehdr + ph + code


def multiboot_seeds():
    return {
        "elf32-16-segments": elf32_many_segments(16),
        "elf32-17-segments-refused": elf32_many_segments(17),
        "aout": aout_image(),
        "aout-to-end-of-file-no-bss": aout_image(load_end=False, bss=0, tail=0),
        "aout-header-deeper": aout_image(prefix=0x400, code_len=0x80),
        "aout-bad-checksum": aout_image(checksum=0x12345678),
        "aout-video-flag": aout_image(flags=MB_PAGE_ALIGN | MB_MEMORY_INFO | 4 | MB_AOUT_KLUDGE),
        "elf32-higher-half": elf32_multiboot(),
        "elf32-identity": elf32_multiboot(higher_half=False),
        "elf64-refused": elf32_multiboot(elf_class=2),
    }


# --- fw_cfg ------------------------------------------------------------------------------

FW_WINDOW_GPA, FW_WINDOW_SIZE = 0x10000, 256
DMA_ERROR, DMA_READ, DMA_SKIP, DMA_SELECT, DMA_WRITE = 1, 2, 4, 8, 0x10


def dma_desc(control, length, address):
    return struct.pack(">IIQ", control, length, address)


def fw_window(*descs):
    w = b"".join(descs)
    return w + b"\0" * (FW_WINDOW_SIZE - len(w))


def fw_select(key):
    return bytes([0]) + struct.pack("<H", key)


def fw_read(n):
    return bytes([1, n - 1])


def fw_kick_slot(slot, how=0):
    return bytes([2, slot, how])


def fw_kick_gpa(gpa, how=0):
    return bytes([3]) + struct.pack("<Q", gpa) + bytes([how])


def fw_raw(port, width_byte, is_write, value):
    return bytes([4, port, width_byte, is_write]) + struct.pack("<Q", value)


def fw_put_slot(slot, desc):
    return bytes([5, slot]) + desc


def fw_cfg_seeds():
    ram = 0x20000  # DMA target, in RAM
    files_first, file_dir = 0x20, 0x19
    return {
        "signatures": fw_window() + bytes([7, 6]),
        "select-read-file-dir": fw_window() + fw_select(file_dir) + fw_read(16) * 8,
        "select-read-items": fw_window() + b"".join(
            fw_select(k) + fw_read(8) for k in (0, 1, 3, 4, 5, 0xf, files_first, 0x8003)),
        "dma-read-file-dir": fw_window(
            dma_desc(file_dir << 16 | DMA_SELECT | DMA_READ, 0x100, ram))
        + fw_kick_slot(0) + fw_put_slot(0, dma_desc(DMA_READ, 0x40, ram + 0x100))
        + fw_kick_slot(0, 1),
        "dma-select-skip-read": fw_window(
            dma_desc(files_first << 16 | DMA_SELECT | DMA_SKIP, 4, 0),
            dma_desc(DMA_READ, 0x200, ram))  # reads past the item's end: zeros
        + fw_kick_slot(0) + fw_kick_slot(1, 1) + fw_read(4),
        "dma-write-and-errors": fw_window(
            dma_desc(DMA_WRITE, 8, ram), dma_desc(DMA_READ, 0x100, 0xffffffff00000000),
            dma_desc(1 << 16 | DMA_SELECT, 0, 0), dma_desc(DMA_READ, 16, 64 * MiB - 8))
        + b"".join(fw_kick_slot(i) for i in range(4)) + fw_kick_gpa(0x8000000)
        + fw_kick_gpa(64 * MiB - 4, 1),
        "raw-accesses": fw_window() + b"".join(
            fw_raw(port, wb, w, 0x0123456789abcdef)
            for port in (0, 1, 4, 8, 12) for wb in (0, 3, 5, 7) for w in (0, 1)),
    }


# --- serial ------------------------------------------------------------------------------

W1, W2, W4, W8 = 0, 3, 5, 7  # width bytes for fuzz_width()


def ser_w(reg, value, width=W1):
    return bytes([0, reg, width]) + struct.pack("<Q", value)


def ser_r(reg, width=W1):
    return bytes([1, reg, width])


def ser_rx(data):
    return bytes([2, len(data)]) + data


def serial_seeds():
    THR, IER, IIR, LCR, MCR, LSR, MSR, SCR = 0, 1, 2, 3, 4, 5, 6, 7
    init = (ser_w(LCR, 0x80) + ser_w(0, 1) + ser_w(1, 0) + ser_w(LCR, 0x03) +
            ser_w(2, 0xc7) + ser_w(MCR, 0x0b) + ser_w(IER, 0x0f))
    return {
        # What Linux's 8250 autoconfig does: scratch, loopback MSR test, FIFO identification.
        "linux-autoconfig": ser_w(SCR, 0xa5) + ser_r(SCR) + ser_w(IER, 0) + ser_r(IER)
        + ser_w(MCR, 0x1a) + ser_r(MSR) + ser_w(MCR, 0x1f) + ser_r(MSR) + ser_w(MCR, 0)
        + ser_w(2, 0xe7) + ser_r(IIR) + ser_w(LCR, 0xbf) + ser_r(2) + ser_w(LCR, 0)
        + ser_w(2, 0) + ser_r(IIR),
        "init-transmit-irq": init + ser_w(THR, ord("h")) + ser_w(THR, ord("i")) + ser_r(IIR)
        + ser_r(LSR) + ser_r(IIR) + ser_w(IER, 0x05) + ser_r(IIR),
        "loopback-overrun": init + ser_w(MCR, 0x1b) + b"".join(ser_w(THR, c) for c in range(20))
        + ser_r(LSR) + ser_r(IIR) + ser_r(THR) * 3 + ser_r(LSR) + ser_rx(b"lost"),
        "receive-fifo-trigger": init + ser_rx(b"0123456789abcdefXYZ") + ser_r(IIR) + ser_r(LSR)
        + ser_r(THR) * 17 + bytes([3]) + ser_rx(b"more") + ser_r(IIR),
        "receive-no-fifo": ser_w(MCR, 0x08) + ser_w(IER, 0x05) + ser_rx(b"ab") + ser_r(IIR)
        + ser_r(LSR) + ser_r(THR) + ser_r(LSR) + ser_rx(b"c") + bytes([3]),
        "wide-and-unclaimed": b"".join(ser_w(reg, 0x11223344, w) + ser_r(reg, w)
                                       for reg in (0, 5, 7, 8, 9) for w in (W2, W4, W8)),
    }


# --- rtc ---------------------------------------------------------------------------------

def rtc_w(reg, v):
    return bytes([6, reg, v])


def rtc_r(reg):
    return bytes([7, reg])


def rtc_clock_step(d):
    return bytes([4]) + struct.pack("<H", d + 32768)


def rtc_clock_set(t):
    return bytes([5]) + struct.pack("<Q", t)


def rtc_seeds():
    clock = struct.pack("<I", 1700000000 // 4)
    time_regs = (0, 2, 4, 6, 7, 8, 9, 0x32)
    read_time = b"".join(rtc_r(r) for r in time_regs)
    return {
        "read-time-bcd-24h": clock + read_time + rtc_r(0xa) + rtc_r(0xb) + rtc_r(0xc) + rtc_r(0xd),
        "set-time-binary": clock + rtc_w(0xb, 0x86) + rtc_w(0, 59) + rtc_w(2, 59) + rtc_w(4, 23)
        + rtc_w(7, 31) + rtc_w(8, 12) + rtc_w(9, 99) + rtc_w(0x32, 20) + read_time
        + rtc_w(0xb, 0x06) + rtc_clock_step(1) + read_time,
        "twelve-hour-bcd": clock + rtc_w(0xb, 0x00) + rtc_r(4) + rtc_w(4, 0x92) + rtc_r(4)
        + rtc_w(4, 0x12) + rtc_r(4) + rtc_clock_step(30000) + rtc_clock_step(13200) + read_time,
        "alarm-and-update-flags": clock + rtc_w(1, 0xc0) + rtc_w(3, 0xc0) + rtc_w(5, 0xc0)
        + rtc_w(0xb, 0x32) + rtc_r(0xc) + rtc_clock_step(5) + rtc_r(0xc) + rtc_w(1, 0x30)
        + rtc_clock_step(100) + rtc_r(0xc),
        "periodic-and-clock-jumps": clock + rtc_w(0xa, 0x2f) + rtc_w(0xb, 0x42) + rtc_r(0xc)
        + rtc_clock_set(0) + read_time + rtc_clock_set((1 << 34) - 1) + read_time
        + rtc_clock_step(-30000) + rtc_r(0xc),
        "cmos-ram-and-raw": clock + b"".join(rtc_w(r, r ^ 0x5a) + rtc_r(r) for r in (0x0e, 0x15, 0x34, 0x5b, 0x7f))
        + bytes([0, 0x8b, 2, 1, 0x42]) + bytes([3, 0, 3, 1]) + struct.pack("<Q", 0x0b)
        + bytes([3, 1, 3, 0]) + struct.pack("<Q", 0) + bytes([3, 2, 0, 0]) + struct.pack("<Q", 0),
    }


# --- small devices -----------------------------------------------------------------------

ACPI_PM, I8042_DATA, I8042_CMD, RESET_CONTROL, POST, DEBUG_EXIT, TEST_PIO, TEST_MMIO = range(8)


def dev(d, off, width, is_write, value=0):
    return bytes([d]) + struct.pack("<H", off) + bytes([width, is_write]) + struct.pack("<Q", value)


def small_device_seeds():
    s5 = (5 << 10) | (1 << 13)
    return {
        "acpi-poweroff": dev(ACPI_PM, 4, W2, 1, s5) + dev(ACPI_PM, 4, W2, 0),
        "acpi-registers": dev(ACPI_PM, 2, W2, 1, 0x0101) + dev(ACPI_PM, 0, W4, 1, 0xffff0000)
        + dev(ACPI_PM, 0, W4, 0) + dev(ACPI_PM, 8, W4, 0) + dev(ACPI_PM, 9, W2, 0)
        + dev(ACPI_PM, 4, W2, 1, (1 << 10) | (1 << 13)) + dev(ACPI_PM, 11, W2, 0),
        "i8042-commands": b"".join(dev(I8042_CMD, 0, W1, 1, c) + dev(I8042_DATA, 0, W1, 0)
                                   for c in (0xaa, 0xab, 0xa9, 0x20, 0xd0, 0xa7, 0xa8, 0xad, 0xae))
        + dev(I8042_CMD, 0, W1, 1, 0x60) + dev(I8042_DATA, 0, W1, 1, 0x47)
        + dev(I8042_CMD, 0, W1, 0) + dev(I8042_CMD, 0, W1, 1, 0xd1)
        + dev(I8042_DATA, 0, W1, 1, 0xfe) + dev(I8042_CMD, 0, W1, 1, 0xfe),
        "reset-control": dev(RESET_CONTROL, 0, W1, 1, 0x02) + dev(RESET_CONTROL, 0, W1, 0)
        + dev(RESET_CONTROL, 0, W1, 1, 0x06) + dev(RESET_CONTROL, 0, W2, 1, 0x0e),
        "post-and-debug-exit": dev(POST, 0, W1, 1, 0x55) + dev(POST, 0, W1, 0)
        + dev(DEBUG_EXIT, 0, W1, 1, 0x10) + dev(DEBUG_EXIT, 0, W4, 1, 0x7fffffff)
        + dev(DEBUG_EXIT, 2, W2, 1, 3) + dev(DEBUG_EXIT, 0, W4, 0),
        "test-device": b"".join(dev(TEST_MMIO, off, w, 1, 0x0102030405060708)
                                + dev(TEST_MMIO, off, w, 0)
                                for off, w in ((0, W8), (0x7fc, W4), (0x7ff, W1), (0x7fe, W4)))
        + b"".join(dev(TEST_MMIO, r, W8, 0) for r in (0x800, 0x808, 0x810, 0x818, 0x81c))
        + b"".join(dev(TEST_PIO, 8, W1, 1, c) for c in b"fifo")
        + dev(TEST_PIO, 8, W1, 0) * 6 + dev(TEST_PIO, 0, W8, 1, 42) + dev(TEST_PIO, 4, W4, 0),
    }


# --- config ------------------------------------------------------------------------------

def argv(*words):
    return b"\0".join(w.encode() for w in words)


def config_seeds():
    return {
        "typical": argv("--kernel", "vmlinux", "--initrd", "initramfs.cpio.gz", "--cmdline",
                        "console=ttyS0 quiet", "--mem", "512M", "--cpus", "2"),
        "features-serial-reboot": argv("--kernel=bzImage", "--cpu-features=-cx16,-xsave,+xsaveerptr",
                                       "--serial", "file:/tmp/console.log", "--on-reboot",
                                       "exit", "--no-acpi", "-vv"),
        "firmware": argv("--firmware", "fw.bin", "--debug-exit", "--test-device", "--mem",
                         "1GiB", "--serial", "none", "--kvm", "/dev/kvm"),
        "aliases-and-sizes": argv("--bios", "x", "--append", "a", "--memory", "3G", "--cpus",
                                  "64", "--mem", "1T"),
        "errors": argv("--kernel", "k", "--firmware", "f", "--mem", "31M", "--cpus", "0",
                       "-x", "extra"),
        "help": argv("--cpu-features", "help"),
        "missing-value": argv("-v", "--kernel"),
        "disk-net-rng-console": argv("--kernel", "k", "--disk",
                                     "path=disk.img,readonly=on,cache=none,serial=SN1,queues=2",
                                     "--disk=path=b.img", "--net", "tap=tap0,mac=52:54:00:12:34:56",
                                     "--net", "tap=t1,mac=01:00:5e:00:00:01", "--rng",
                                     "--console", "virtio", "--rng=1"),
    }


# --- memory / e820 -----------------------------------------------------------------------

def mem_input(how, size_or_delta, hole=None, max_entries=16, queries=()):
    b = bytes([how]) + struct.pack("<Q", size_or_delta & 0xffffffffffffffff)
    if how & 0x80:
        b += struct.pack("<QQ", *hole)
    b += bytes([max_entries])
    for gpa, length in queries:
        b += struct.pack("<QQ", gpa & 0xffffffffffffffff, length)
    return b


def edge(region, delta, length):
    """A query near the end of region 0 or 1 (see fuzz_e820_memory.c)."""
    return (1 << 63 | region << 32 | ((delta + 0x800) & 0xffff), length)


def interesting(i):
    return 1 | i << 1


def e820_memory_seeds():
    q = [(0, 0x1000), (0x9fc00, 0x400), (0xfffff, 1), (MiB, 0), edge(0, -1, 1), edge(0, 0, 0),
         edge(0, 0, 1), edge(1, -16, 16), (1 << 32, 8), (0xffffffffffffffff, 2)]
    return {
        "min-size": mem_input(interesting(0), 0, queries=q),
        "just-below-pci-hole": mem_input(interesting(2), 0, queries=q),
        "exactly-3g": mem_input(interesting(3), 0, queries=q + [(0xbffff000, 0x1000)]),
        "above-4g": mem_input(interesting(6), 0, max_entries=3, queries=q),
        "max-size": mem_input(interesting(7), 0, queries=q),
        "firmware-alias-hole": mem_input(interesting(6) | 0xc0, 0, hole=(31, 0), queries=q
                                         + [(0xe0000, 1), (0xdffff, 1), (0xe0000, 0)]),
        "any-hole": mem_input(interesting(1) | 0x80, 0, hole=(2 * MiB, 3 * MiB), queries=q
                              + [(2 * MiB - 1, 2), (3 * MiB, 1), (2 * MiB, 0)]),
        "refused-size": mem_input(2, 0),
    }


# --- virtio-blk ----------------------------------------------------------------------------

BLK_T_IN, BLK_T_OUT, BLK_T_FLUSH, BLK_T_GET_ID = 0, 1, 4, 8
BLK_T_DISCARD, BLK_T_WRITE_ZEROES = 11, 13
D_NEXT, D_WRITE, D_INDIRECT = 1, 2, 4


class BlkRam:
    """Guest RAM for fuzz_blk: a 16-entry queue at 0x0/0x100/0x140, an indirect table at
    0x1e0, headers at 0x280, status bytes at 0x380, data from 0x400 (all below 4 KiB)."""

    DESC, AVAIL, USED, IND, HDR, STATUS, DATA = 0x0, 0x100, 0x140, 0x1e0, 0x280, 0x380, 0x400

    def __init__(self, size=16, features=0, readonly=False):
        self.size, self.features, self.readonly = size, features, readonly
        self.ram = bytearray(0x1000)
        self.ndesc = 0
        self.navail = 0
        self.nhdr = 0

    def put(self, gpa, data):
        self.ram[gpa:gpa + len(data)] = data

    def desc(self, table, i, addr, length, flags, nxt=0):
        self.put(table + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def hdr(self, rtype, sector):
        gpa = self.HDR + 16 * self.nhdr
        self.nhdr += 1
        self.put(gpa, struct.pack("<IIQ", rtype, 0, sector))
        return gpa

    def status(self):
        return self.STATUS + self.nhdr

    def chain(self, bufs):
        """bufs: [(gpa, len, write)] as one direct chain; made available."""
        first = self.ndesc
        assert first + len(bufs) <= self.size
        for k, (gpa, length, write) in enumerate(bufs):
            last = k == len(bufs) - 1
            self.desc(self.DESC, first + k, gpa, length, (0 if last else D_NEXT) |
                      (D_WRITE if write else 0), 0 if last else first + k + 1)
        self.ndesc += len(bufs)
        self.avail(first)

    def indirect(self, bufs):
        for k, (gpa, length, write) in enumerate(bufs):
            last = k == len(bufs) - 1
            self.desc(self.IND, k, gpa, length, (0 if last else D_NEXT) |
                      (D_WRITE if write else 0), 0 if last else k + 1)
        self.desc(self.DESC, self.ndesc, self.IND, 16 * len(bufs), D_INDIRECT)
        self.ndesc += 1
        self.avail(self.ndesc - 1)

    def avail(self, head):
        self.put(self.AVAIL + 4 + 2 * (self.navail % self.size), struct.pack("<H", head))
        self.navail += 1
        self.put(self.AVAIL + 2, struct.pack("<H", self.navail))

    def request(self, rtype, sector, data=None, data_len=0):
        """Header, then data (bytes: readable; data_len: writable), then a status byte."""
        bufs = [(self.hdr(rtype, sector), 16, False)]
        if data is not None:
            self.put(self.DATA, data)
            bufs.append((self.DATA, len(data), False))
        if data_len:
            bufs.append((self.DATA, data_len, True))
        bufs.append((self.status(), 1, True))
        self.chain(bufs)

    def seed(self):
        head = struct.pack("<HBBIII", self.size, self.features, 1 if self.readonly else 0,
                           self.DESC, self.AVAIL, self.USED)
        return head + bytes(self.ram).rstrip(b"\0")


def segs(*ranges):
    return b"".join(struct.pack("<QII", sector, n, flags) for sector, n, flags in ranges)


def blk_seeds():
    rw = BlkRam()
    rw.request(BLK_T_IN, 1, data_len=1024)
    rw.request(BLK_T_OUT, 3, data=bytes(range(256)) * 2)
    rw.request(BLK_T_FLUSH, 0)

    ids = BlkRam()
    ids.request(BLK_T_GET_ID, 0, data_len=20)
    ids.request(BLK_T_IN, 15, data_len=512)  # the last sector
    ids.request(99, 0, data_len=512)  # unknown type

    # Header split 8 + 8, data and status in one 513-byte writable buffer.
    split = BlkRam()
    h = split.hdr(BLK_T_IN, 2)
    split.chain([(h, 8, False), (h + 8, 8, False), (split.DATA, 513, True)])
    h = split.hdr(BLK_T_OUT, 4)
    split.put(split.DATA + 0x400, struct.pack("<IIQ", BLK_T_OUT, 0, 4) + b"\x5a" * 512)
    split.chain([(split.DATA + 0x400, 16 + 512, False), (split.status(), 1, True)])

    zeroes = BlkRam(features=2)  # INDIRECT_DESC
    h = zeroes.hdr(BLK_T_WRITE_ZEROES, 0)
    zeroes.put(zeroes.DATA, segs((2, 2, 0), (10, 1, 1)))
    zeroes.indirect([(h, 16, False), (zeroes.DATA, 32, False), (zeroes.status(), 1, True)])
    h = zeroes.hdr(BLK_T_DISCARD, 0)
    zeroes.put(zeroes.DATA + 0x100, segs((4, 4, 0)))
    zeroes.chain([(h, 16, False), (zeroes.DATA + 0x100, 16, False), (zeroes.status(), 1, True)])

    ro = BlkRam(readonly=True)
    ro.request(BLK_T_OUT, 0, data=b"\xaa" * 512)
    h = ro.hdr(BLK_T_WRITE_ZEROES, 0)
    ro.put(ro.DATA + 0x200, segs((0, 1, 0)))
    ro.chain([(h, 16, False), (ro.DATA + 0x200, 16, False), (ro.status(), 1, True)])
    ro.request(BLK_T_IN, 0, data_len=512)

    errors = BlkRam()
    errors.request(BLK_T_IN, 16, data_len=512)  # past the end
    errors.request(BLK_T_IN, 0, data_len=511)  # not whole sectors
    h = errors.hdr(BLK_T_DISCARD, 0)
    errors.put(errors.DATA + 0x300, segs((0, 1, 1)))  # discard knows no flags
    errors.chain([(h, 16, False), (errors.DATA + 0x300, 16, False), (errors.status(), 1, True)])
    h = errors.hdr(BLK_T_OUT, 0)
    errors.chain([(h, 12, False), (errors.status(), 1, True)])  # short header

    # EVENT_IDX, and a zero-length writable buffer after the status byte.
    empty = BlkRam(features=1)
    h = empty.hdr(BLK_T_IN, 5)
    empty.chain([(h, 16, False), (empty.DATA, 512, True), (empty.status(), 1, True),
                 (0, 0, True)])

    return {
        "read-write-flush": rw.seed(),
        "get-id-last-sector-unknown": ids.seed(),
        "split-header-shared-status": split.seed(),
        "indirect-write-zeroes-discard": zeroes.seed(),
        "readonly-writes": ro.seed(),
        "errors": errors.seed(),
        "event-idx-empty-after-status": empty.seed(),
    }


# --- virtio PCI transport ------------------------------------------------------------------

VP_COMMON = 0x0
VP_ISR, VP_DEVICE, VP_NOTIFY, VP_MSIX_TABLE, VP_MSIX_PBA = 0x40, 0x100, 0x200, 0x1000, 0x1800
VP_PCI_CFG_CAP, VP_MSIX_CAP = 0x84, 0x98  # where virtio_pci_init puts them
(DFSELECT, DF, GFSELECT, GF, MSIX_CONFIG, NUM_QUEUES, STATUS, CFGGEN, Q_SELECT, Q_SIZE, Q_MSIX,
 Q_ENABLE, Q_NOFF, Q_DESC, Q_DRIVER, Q_DEVICE) = (0x0, 0x4, 0x8, 0xc, 0x10, 0x12, 0x14, 0x15,
                                                  0x16, 0x18, 0x1a, 0x1c, 0x1e, 0x20, 0x28, 0x30)
WIDTH = {1: W1, 2: W2, 4: W4, 8: W8}


def vp_bar(off, n, write=False, value=0):
    return bytes([0]) + struct.pack("<H", off) + bytes([WIDTH[n], write]) + struct.pack("<Q", value)


def vp_common(off, n, write=False, value=0):
    return bytes([1, off, WIDTH[n], write]) + struct.pack("<Q", value)


def vp_msix(off, n, write=False, value=0):
    return bytes([2]) + struct.pack("<H", off) + bytes([WIDTH[n], write]) + struct.pack("<Q", value)


def vp_mmio(off, n, write=False, value=0):
    return bytes([3]) + struct.pack("<I", off) + bytes([WIDTH[n], write]) + struct.pack("<Q", value)


def vp_cfg(off, n, write=False, value=0, devfn=None):
    d = 0 if devfn is None else 0x80 | devfn
    return (bytes([4, d]) + struct.pack("<H", off) + bytes([WIDTH[n], write])
            + struct.pack("<I", value))


def vp_port(port, n, write=False, value=0):
    return bytes([5, port, WIDTH[n], write]) + struct.pack("<I", value)


def vp_ecam(off, n, write=False, value=0):
    return bytes([6]) + struct.pack("<I", off) + bytes([WIDTH[n], write]) + struct.pack("<I", value)


def vp_event(what, arg=0):
    return bytes([7, what, arg])


def vp_probe(vectors=(0xffff, 0xffff), config_vector=0xffff, queue_size=64):
    """What Linux's virtio_pci_modern does, through BAR 0, up to DRIVER_OK."""
    ops = [vp_common(STATUS, 1, True, 0), vp_common(STATUS, 1), vp_common(STATUS, 1, True, 1),
           vp_common(STATUS, 1, True, 3), vp_common(DFSELECT, 4, True, 0), vp_common(DF, 4),
           vp_common(DFSELECT, 4, True, 1), vp_common(DF, 4), vp_common(GFSELECT, 4, True, 0),
           vp_common(GF, 4, True, 1 << 5), vp_common(GFSELECT, 4, True, 1),
           vp_common(GF, 4, True, 1), vp_common(STATUS, 1, True, 0xb), vp_common(STATUS, 1),
           vp_common(MSIX_CONFIG, 2, True, config_vector), vp_common(NUM_QUEUES, 2)]
    for q, vec in enumerate(vectors):
        base = 0x1000 * (q + 1)
        ops += [vp_common(Q_SELECT, 2, True, q), vp_common(Q_SIZE, 2),
                vp_common(Q_SIZE, 2, True, queue_size), vp_common(Q_NOFF, 2),
                vp_common(Q_DESC, 4, True, base), vp_common(Q_DESC + 4, 4, True, 0),
                vp_common(Q_DRIVER, 4, True, base + 0x400), vp_common(Q_DRIVER + 4, 4, True, 0),
                vp_common(Q_DEVICE, 4, True, base + 0x600), vp_common(Q_DEVICE + 4, 4, True, 0),
                vp_common(Q_MSIX, 2, True, vec), vp_common(Q_MSIX, 2),
                vp_common(Q_ENABLE, 2, True, 1)]
    ops.append(vp_common(STATUS, 1, True, 0xf))
    return b"".join(ops)


def vp_window(offset, length):
    c = VP_PCI_CFG_CAP
    return (vp_cfg(c + 4, 1, True, 0) + vp_cfg(c + 8, 4, True, offset)
            + vp_cfg(c + 12, 4, True, length))


def virtio_pci_seeds():
    c = VP_PCI_CFG_CAP
    msix_on = b"".join(vp_msix(16 * v, 8, True, 0xfee00000) + vp_msix(16 * v + 8, 8, True, 0x40 + v)
                       for v in range(3)) + vp_cfg(VP_MSIX_CAP + 2, 2, True, 0x8000)
    return {
        "linux-probe-intx": vp_probe() + vp_event(2, 0) + vp_event(2, 1) + vp_bar(VP_ISR, 1)
        + vp_bar(VP_NOTIFY, 2, True, 0) + vp_bar(VP_NOTIFY + 4, 2, True, 1)
        + vp_bar(VP_DEVICE, 4) + vp_event(0) + vp_bar(VP_ISR, 1) + vp_common(STATUS, 1, True, 0),
        "linux-probe-msix": vp_cfg(4, 2, True, 0x6) + msix_on + vp_probe((1, 2), 0)
        + vp_event(2, 0) + vp_event(2, 1) + vp_event(0) + vp_cfg(VP_MSIX_CAP + 2, 2, True, 0xc000)
        + vp_event(3, 1) + vp_msix(0x800, 8) + vp_bar(VP_MSIX_PBA, 8)
        + vp_cfg(VP_MSIX_CAP + 2, 2, True, 0x8000) + vp_msix(16 + 12, 4, True, 1) + vp_event(3, 1)
        + vp_msix(16 + 12, 4, True, 0) + vp_event(1) + vp_common(STATUS, 1),
        "bad-rings-needs-reset": vp_probe(queue_size=48) + vp_common(STATUS, 1) + vp_bar(VP_ISR, 1)
        + vp_common(STATUS, 1, True, 0) + vp_common(Q_SELECT, 2, True, 7) + vp_common(Q_SIZE, 2)
        + vp_common(Q_SIZE, 2, True, 8) + vp_common(MSIX_CONFIG, 2, True, 3)
        + vp_common(GFSELECT, 4, True, 1) + vp_common(GF, 4, True, 0)
        + vp_common(STATUS, 1, True, 0xb) + vp_common(STATUS, 1),
        "pci-cfg-window": vp_window(NUM_QUEUES, 2) + vp_cfg(c + 16, 2)
        + vp_window(STATUS, 1) + vp_cfg(c + 16, 1, True, 1) + vp_event(0)
        + vp_window(VP_ISR, 1) + vp_cfg(c + 16, 1) + vp_window(VP_NOTIFY + 4, 2)
        + vp_cfg(c + 16, 2, True, 1) + vp_window(VP_MSIX_TABLE + 12, 4) + vp_cfg(c + 16, 4)
        + vp_window(STATUS, 1) + vp_cfg(c + 16, 1, True, 0) + vp_window(0x1ffe, 4)
        + vp_cfg(c + 16, 4),
        "ports-bar-sizing-mmio": vp_port(0, 4, True, 0x80000810) + vp_port(4, 4, True, 0xffffffff)
        + vp_port(4, 4) + vp_port(4, 4, True, 0xe0000000) + vp_port(0, 4, True, 0x80000804)
        + vp_port(4, 2, True, 0x2) + vp_mmio(NUM_QUEUES, 2) + vp_mmio(VP_ISR, 1)
        + vp_port(0, 4, True, 0x80000810) + vp_port(4, 4, True, 0xe0100000)
        + vp_mmio(0x100000 + NUM_QUEUES, 2) + vp_mmio(NUM_QUEUES, 2) + vp_event(0)
        + vp_port(0, 4, True, 0x80000804) + vp_port(4, 2, True, 0x406) + vp_event(0)
        + vp_port(6, 2) + vp_port(0, 4, True, 0x8000083c) + vp_port(7, 1),
        "ecam-and-absent": vp_ecam(0, 4) + vp_ecam(1 << 15, 4) + vp_ecam(2 << 15, 4)
        + vp_ecam(1 << 15 | 1 << 12, 4) + vp_ecam(1 << 15 | 0x100, 4) + vp_ecam(1 << 20, 4)
        + vp_ecam(1 << 15 | 0x34, 1) + vp_ecam(1 << 15 | 4, 2, True, 2)
        + vp_cfg(0, 4, devfn=0) + vp_cfg(0, 4, devfn=9) + vp_cfg(0x10, 4, True, 0xffffffff)
        + vp_cfg(0x10, 4) + vp_cfg(0x3c, 1, True, 5) + vp_cfg(0x3d, 1, True, 7),
    }


# --- virtio-net receive -------------------------------------------------------------------

F_EVENT_IDX, F_INDIRECT, F_MRG_RXBUF = 1, 2, 4


class NetRxRam(BlkRam):
    """Guest RAM for fuzz_net_rx: BlkRam's queue layout, only writable receive buffers."""

    def __init__(self, features=0, packets=1, length=1514, size=16):
        super().__init__(size=size, features=features)
        self.packets, self.length = packets, length

    def buffers(self, *lens):
        """One chain per entry: a length, or a list of lengths (a chain of several)."""
        at = self.DATA
        for entry in lens:
            bufs = []
            for n in entry if isinstance(entry, list) else [entry]:
                bufs.append((at, n, True))
                at += n
            self.chain(bufs)

    def seed(self):
        head = struct.pack("<HBBHHIII", self.size, self.features, self.packets - 1,
                           self.length - 1, 0, self.DESC, self.AVAIL, self.USED)
        return head + bytes(self.ram).rstrip(b"\0")


def net_rx_seeds():
    one = NetRxRam(length=60)
    one.buffers(1526)
    merged = NetRxRam(features=F_MRG_RXBUF | F_EVENT_IDX, packets=2, length=1000)
    merged.buffers(400, 400, 400, 400, 400, 400)
    short = NetRxRam(features=F_MRG_RXBUF, length=3000)  # too few buffers: handed back
    short.buffers(512, 512)
    cut = NetRxRam(length=2000)  # no merging: the packet is cut to the one buffer
    cut.buffers([100, 200])
    indirect = NetRxRam(features=F_INDIRECT | F_MRG_RXBUF, length=300)
    indirect.indirect([(indirect.DATA, 200, True), (indirect.DATA + 200, 200, True)])
    readonly = NetRxRam(features=F_MRG_RXBUF, length=100)
    readonly.chain([(readonly.DATA, 64, False)])
    return {"one-buffer": one.seed(), "mergeable": merged.seed(), "too-few": short.seed(),
            "cut-off": cut.seed(), "indirect": indirect.seed(), "read-only": readonly.seed()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bzimage", help="a real bzImage to cut the bzimage seeds from")
    args = ap.parse_args()
    bz = find_bzimage(args.bzimage)
    if bz:
        write_corpus("bzimage", bzimage_seeds(bz))
    else:
        print("bzimage: no guest kernel found (make guest); seeds left as they are")
    write_corpus("pvh", pvh_seeds())
    write_corpus("multiboot", multiboot_seeds())
    write_corpus("fw_cfg", fw_cfg_seeds())
    write_corpus("serial", serial_seeds())
    write_corpus("rtc", rtc_seeds())
    write_corpus("acpi_pm_i8042", small_device_seeds())
    write_corpus("config", config_seeds())
    write_corpus("e820_memory", e820_memory_seeds())
    write_corpus("blk", blk_seeds())
    write_corpus("virtio_pci", virtio_pci_seeds())
    write_corpus("net_rx", net_rx_seeds())


if __name__ == "__main__":
    main()
