"""Raw disk images whose every 4 KiB block starts with its own index (little-endian u64),
the rest random: a reader can check that each block it got is the one it asked for
(tests/guests/vblkbench.c with "stamped")."""
import os
import struct

BLOCK = 4096
PATTERN_BLOCK = bytes(((i // 512 * 31 + i % 512) ^ 0x5A) & 0xFF for i in range(BLOCK))


def make(path, mib):
    with open(path, "wb") as f:
        for chunk in range(mib):  # 1 MiB = 256 blocks
            data = bytearray(os.urandom(256 * BLOCK))
            for i in range(256):
                struct.pack_into("<Q", data, i * BLOCK, chunk * 256 + i)
            f.write(data)
    return path


def written_pattern():
    """What vblkbench's final check writes to sectors 0-7 of a stamped disk: its pattern, with
    the first 8 bytes replaced by block index 0."""
    return bytes(8) + PATTERN_BLOCK[8:]
