"""End-to-end test fixtures: boot real guests with kvmbox and talk to their console."""
import hashlib
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KVMBOX = Path(os.environ.get("KVMBOX", ROOT / "build" / "kvmbox"))
GUEST_DIR = Path(os.environ.get("GUEST_DIR", ROOT / "build" / "guest"))
CPU_FEATURES = os.environ.get("GUEST_CPU_FEATURES", "-cx16,-xsave")
INIT_MARKER = "kvmbox-guest: init reached"
# Linux boots slowly where guest kernel code is emulated (see guest/README.md).
BOOT_TIMEOUT = float(os.environ.get("KVMBOX_BOOT_TIMEOUT", "600"))


def guest_cmdline():
    return (ROOT / "guest" / "cmdline").read_text().strip()


def require_kvm():
    """Tests that boot guests fail loudly, never skip, when KVM is missing."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        pytest.fail("/dev/kvm is missing or not accessible: end-to-end tests need KVM")


# --- disk images, made and checked on the host ---

def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mkfs_ext4(image, size, tree=None):
    args = ["mkfs.ext4", "-q", "-F"] + (["-d", str(tree)] if tree else []) + [str(image), size]
    subprocess.run(args, check=True, capture_output=True)


def e2fsck_clean(image):
    r = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    assert r.returncode == 0, f"e2fsck -fn {image}: {r.returncode}\n{r.stdout}{r.stderr}"


def debugfs_cat(image, path):
    r = subprocess.run(["debugfs", "-R", f"cat {path}", str(image)], capture_output=True,
                       check=True)
    return r.stdout


class Guest:
    """A running kvmbox whose serial console is our pipe."""

    def __init__(self, args, prefix=(), program=None):
        """program: the VMM command before args (default: kvmbox run)."""
        self.args = (program or [str(KVMBOX), "run"]) + [str(a) for a in args]
        self.proc = subprocess.Popen([*prefix, *self.args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = b""
        self.err = b""
        self.lock = threading.Lock()
        self.readers = [threading.Thread(target=self._pump, args=(self.proc.stdout, "out")),
                        threading.Thread(target=self._pump, args=(self.proc.stderr, "err"))]
        for t in self.readers:
            t.daemon = True
            t.start()
        self.started = time.monotonic()

    def _pump(self, stream, name):
        while True:
            chunk = stream.read1(4096)
            if not chunk:
                return
            with self.lock:
                setattr(self, name, getattr(self, name) + chunk)

    def text(self):
        with self.lock:
            return self.out.decode(errors="replace")

    def stderr_text(self):
        with self.lock:
            return self.err.decode(errors="replace")

    def wait_for(self, pattern, timeout=BOOT_TIMEOUT, start=0):
        """Waits until the console output (from offset start) matches; returns the match."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            m = rx.search(self.text(), start)
            if m:
                return m
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the readers drain
                m = rx.search(self.text(), start)
                if m:
                    return m
                raise AssertionError(
                    f"kvmbox exited ({self.proc.returncode}) before {pattern!r} appeared\n"
                    f"--- console ---\n{self.text()[-3000:]}\n--- stderr ---\n"
                    f"{self.stderr_text()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout}s waiting for {pattern!r}\n"
                             f"--- console ---\n{self.text()[-3000:]}\n--- stderr ---\n"
                             f"{self.stderr_text()[-3000:]}")

    def wait_boot(self):
        self.wait_for(re.escape(INIT_MARKER))
        self.boot_seconds = time.monotonic() - self.started
        return self.boot_seconds

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def run(self, command, timeout=120):
        """Runs a shell command in the guest and returns its output.

        The output is bracketed by two markers the guest prints; each is split with '' in
        the command so the echoed command line itself never matches.
        """
        tag = f"{time.monotonic_ns()}"
        start = len(self.out)
        self.send(f"echo __B''EGIN_{tag}__; {command}; echo __E''ND_{tag}__ $?\n")
        begin = self.wait_for(f"__BEGIN_{tag}__\r?\n", timeout, start)
        end = self.wait_for(f"__END_{tag}__ (\\d+)", timeout, begin.end())
        return self.text()[begin.end():end.start()].replace("\r", "").strip()

    def wait_exit(self, timeout=120):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"kvmbox did not exit within {timeout}s\n"
                                 f"--- console ---\n{self.text()[-3000:]}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def boot():
    """Starts guests; whatever a test leaves running is killed afterwards."""
    guests = []

    def start(*args, prefix=()):
        """prefix: a command kvmbox runs under, e.g. ("ip", "netns", "exec", NAME)."""
        require_kvm()
        g = Guest(args, prefix)
        guests.append(g)
        return g

    yield start
    for g in guests:
        g.kill()


@pytest.fixture
def linux_args():
    """Arguments for the default guest (kernel chosen by the test)."""
    def make(kernel="vmlinux", *extra):
        return ["--kernel", GUEST_DIR / kernel, "--initrd", GUEST_DIR / "initramfs.cpio",
                "--cmdline", guest_cmdline(), f"--cpu-features={CPU_FEATURES}", *extra]
    return make
