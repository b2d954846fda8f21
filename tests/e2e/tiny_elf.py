"""Builds tiny ELF64 kernels with a PVH entry note, for boots that take milliseconds.

The code runs in 32-bit protected mode at the PVH entry, as kvmbox starts it.
"""
import struct

LOAD_ADDR = 0x100000
XEN_ELFNOTE_PHYS32_ENTRY = 18


def out_byte(port, value):
    # mov dx, port; mov al, value; out dx, al
    return b"\x66\xba" + struct.pack("<H", port) + b"\xb0" + bytes([value]) + b"\xee"


def serial_print(text):
    return b"".join(out_byte(0x3f8, b) for b in text.encode())


def acpi_poweroff():
    # mov dx, 0x604 (PM1a_CNT); mov ax, SLP_TYP=5 | SLP_EN; out dx, ax
    return b"\x66\xba\x04\x06" + b"\x66\xb8" + struct.pack("<H", (5 << 10) | (1 << 13)) + b"\x66\xef"


def i8042_reset():
    return out_byte(0x64, 0xfe)


def triple_fault(idtr_addr):
    # lidt [idtr_addr] (an IDT with limit 0); ud2 -> #UD -> #GP -> #DF -> triple fault
    return b"\x0f\x01\x1d" + struct.pack("<I", idtr_addr) + b"\x0f\x0b"


def halt_forever():
    return b"\xfa\xf4\xeb\xfd"  # cli; hlt; jmp back to hlt


def build(code, entry_offset=0):
    """Returns ELF bytes whose single segment (code, then 16 zero bytes) loads at 1 MiB."""
    segment = code + b"\x00" * 16
    name = b"Xen\x00"
    desc = struct.pack("<I", LOAD_ADDR + entry_offset)
    note = struct.pack("<III", len(name), len(desc), XEN_ELFNOTE_PHYS32_ENTRY) + name + desc
    ehsize, phsize = 64, 56
    phoff = ehsize
    note_off = phoff + 2 * phsize
    seg_off = (note_off + len(note) + 15) & ~15
    ehdr = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, b"\0" * 7,
                       2, 62, 1, LOAD_ADDR + entry_offset, phoff, 0, 0, ehsize, phsize, 2,
                       64, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 5, seg_off, LOAD_ADDR, LOAD_ADDR, len(segment),
                       len(segment), 0x1000)
    pnote = struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(note), len(note), 4)
    image = ehdr + load + pnote + note
    image += b"\x00" * (seg_off - len(image))
    return image + segment


def hello_poweroff(text="hello from a tiny guest\n"):
    return build(serial_print(text) + acpi_poweroff() + halt_forever())


def crash():
    code = serial_print("about to triple fault\n")
    idtr = LOAD_ADDR + len(code) + len(triple_fault(0)) + 4  # zeros after the code
    return build(code + triple_fault(idtr) + b"\x90" * 4 + halt_forever())


def reset_via_i8042():
    return build(serial_print("resetting\n") + i8042_reset() + halt_forever())


def sandbox_probe_then_debug_exit():
    """Asks the test device (--test-device) to make a system call the sandbox forbids, then
    writes 0x10 | the probe's result (0: the call went through) to the debug-exit port."""
    probe = out_byte(0xe9, 1)
    read_result = b"\x66\xba\xe9\x00" + b"\xec"  # mov dx, 0xe9; in al, dx
    report = b"\x0c\x10" + b"\x66\xba\xf4\x00" + b"\xee"  # or al, 0x10; mov dx, 0xf4; out
    return build(probe + read_result + report + halt_forever())


def halt_with_cpus_waiting():
    """Prints a line, then halts with interrupts off: kvmbox idles until it is killed."""
    return build(serial_print("halted\n") + halt_forever())
