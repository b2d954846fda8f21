"""Disk data survives kvmbox being killed: every write the guest saw as durable (its fsync
returned) is on the image after SIGKILL, and the file system is consistent once its journal
is replayed, as the next mount would."""
import os
import re
import signal
import subprocess

from conftest import (CPU_FEATURES, GUEST_DIR, Guest, debugfs_cat, e2fsck_clean, guest_cmdline,
                      mkfs_ext4, require_kvm)

FILE_BYTES = 16384
DURABLE_BEFORE_KILL = 8


def test_sigkill_while_the_guest_writes_and_fsyncs_loses_nothing_it_saw_durable(tmp_path):
    require_kvm()
    tree = tmp_path / "tree"
    tree.mkdir()
    pattern = os.urandom(FILE_BYTES)
    (tree / "pattern").write_bytes(pattern)
    image = tmp_path / "data.ext4"
    mkfs_ext4(image, "32M", tree)

    g = Guest(["--kernel", GUEST_DIR / "vmlinux", "--initrd", GUEST_DIR / "initramfs.cpio",
               "--cmdline", guest_cmdline(), f"--cpu-features={CPU_FEATURES}",
               "--mem", "256M", "--disk", f"path={image}"])
    try:
        g.wait_boot()
        g.run("mount /dev/vda /mnt")
        # dd's conv=fsync: the guest prints DURABLE n only after fsync() of file n returned.
        g.send("i=0; while true; do i=$((i+1)); "
               f"dd if=/mnt/pattern of=/mnt/f$i bs={FILE_BYTES} count=1 conv=fsync "
               "2>/dev/null && echo DURABLE $i; done\n")
        g.wait_for(rf"DURABLE {DURABLE_BEFORE_KILL}\b", timeout=600)
        g.proc.send_signal(signal.SIGKILL)
        assert g.proc.wait(30) == -signal.SIGKILL
    finally:
        g.kill()
    durable = [int(n) for n in re.findall(r"DURABLE (\d+)", g.text())]
    assert durable == list(range(1, len(durable) + 1)), durable

    # What mounting the image would do first: replay the journal (and nothing else).
    r = subprocess.run(["e2fsck", "-E", "journal_only", "-y", str(image)],
                       capture_output=True, text=True)
    assert r.returncode in (0, 1), f"journal replay: {r.returncode}\n{r.stdout}{r.stderr}"
    e2fsck_clean(image)
    for n in durable:
        assert debugfs_cat(image, f"/f{n}") == pattern, f"/f{n} differs from what was written"
