"""Starting VMM processes, waiting for their output, and reading their memory use."""
import os
import re
import select
import subprocess
import time


def spawn(argv, prefix=()):
    """Starts argv (under prefix, e.g. ip netns exec NS); returns (process, start time).
    KVMBOX_EXEC_NS lets kvmbox report its start-up from this moment."""
    env = dict(os.environ, KVMBOX_EXEC_NS=str(time.monotonic_ns()))
    t0 = time.monotonic()
    p = subprocess.Popen([*prefix, *map(str, argv)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return p, t0


def wait_output(p, needle, timeout):
    """Monotonic time when needle (bytes) appeared on p's stdout, or None (exit, timeout)."""
    out = b""
    fd = p.stdout.fileno()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            out += chunk
            if needle in out:
                return time.monotonic()
    return None


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()
    for f in (p.stdin, p.stdout, p.stderr):
        if f:
            f.close()


def run_timed(argv, timeout=60):
    """Runs argv to its end; returns (seconds from spawn to exit, status, stdout, stderr)."""
    p, t0 = spawn(argv)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p)
        raise
    return time.monotonic() - t0, p.returncode, out.decode(errors="replace"), \
        err.decode(errors="replace")


def rss_kib(pid, guest_ram_bytes=None):
    """(total RSS, RSS of the guest RAM mapping) in KiB from /proc/PID/smaps. The guest RAM
    is the anonymous mapping of guest_ram_bytes (or larger: QEMU may round it up)."""
    total = guest = 0
    size = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                size = int(m.group(2), 16) - int(m.group(1), 16)
            elif line.startswith("Rss:"):
                kib = int(line.split()[1])
                total += kib
                if guest_ram_bytes and size is not None and \
                        guest_ram_bytes <= size < guest_ram_bytes + (4 << 20):
                    guest += kib
    return total, guest
