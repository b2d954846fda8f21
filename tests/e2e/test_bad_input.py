"""Each user mistake gives one clear line on stderr and a non-zero status, never a crash."""
import fcntl
import os
import shutil
import subprocess

import pytest

import tiny_elf
from conftest import GUEST_DIR, KVMBOX


def kvmbox(*args, timeout=20, **kw):
    return subprocess.run([str(KVMBOX), *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout, **kw)


def assert_one_clear_line(r, *needles):
    err = r.stderr.decode()
    assert r.returncode == 1, f"status {r.returncode}, stderr: {err}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {err}"
    assert lines[0].startswith("kvmbox: "), err
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"


@pytest.fixture
def tiny(tmp_path):
    p = tmp_path / "tiny.elf"
    p.write_bytes(tiny_elf.hello_poweroff())
    return p


def test_missing_kernel_file(tmp_path):
    assert_one_clear_line(kvmbox("run", "--kernel", tmp_path / "nope"), "--kernel",
                          "No such file")


def test_kernel_is_a_directory(tmp_path):
    assert_one_clear_line(kvmbox("run", "--kernel", tmp_path), "not a regular file")


def test_kernel_is_neither_bzimage_nor_elf(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(os.urandom(4096))
    assert_one_clear_line(kvmbox("run", "--kernel", junk), "neither a bzImage nor an ELF")


def test_elf_without_pvh_note(tmp_path):
    assert_one_clear_line(kvmbox("run", "--kernel", shutil.which("true")), "PVH")


def test_truncated_bzimage(tmp_path):
    data = (GUEST_DIR / "bzImage").read_bytes()
    cut = tmp_path / "bzImage.cut"
    cut.write_bytes(data[:len(data) // 2])
    assert_one_clear_line(kvmbox("run", "--kernel", cut), "truncated bzImage")


def test_missing_initrd(tiny, tmp_path):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--initrd", tmp_path / "nope"),
                          "--initrd")


def test_initrd_larger_than_guest_memory(tiny, tmp_path):
    big = tmp_path / "big.img"
    with open(big, "wb") as f:
        f.truncate(40 << 20)
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--initrd", big, "--mem", "32M"),
                          "--initrd", "--mem")


@pytest.mark.parametrize("value,needle", [
    ("0", "at least"), ("1M", "at least"), ("4096G", "at most"), ("abc", "not a size"),
    ("99999999999999999999", "not a size"), ("33M", "multiple of 2M"), ("-5", "not a size"),
])
def test_bad_mem(tiny, value, needle):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--mem", value), "--mem", needle)


@pytest.mark.parametrize("value", ["0", "65", "two", "-1", ""])
def test_bad_cpus(tiny, value):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--cpus", value), "--cpus")


def test_unknown_option(tiny):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--frobnicate"), "--frobnicate")


def test_option_without_value(tiny):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--mem"), "--mem", "needs a value")


def test_unknown_cpu_feature(tiny):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--cpu-features", "-nosuch"),
                          "nosuch")


def test_no_kernel():
    assert_one_clear_line(kvmbox("run"), "--kernel")


def test_unknown_command():
    assert_one_clear_line(kvmbox("frobnicate"), "unknown command")


def test_kvm_device_missing(tiny, tmp_path):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--kvm", tmp_path / "kvm"),
                          "no such device")


def test_kvm_device_without_permission(tiny):
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run kvmbox as an unprivileged user"
    os.chmod(tiny, 0o644)
    os.chmod(tiny.parent, 0o755)
    r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                        str(KVMBOX), "run", "--kernel", str(tiny)],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    assert_one_clear_line(r, "permission denied")


def test_command_line_longer_than_the_kernel_accepts(tmp_path):
    r = kvmbox("run", "--kernel", GUEST_DIR / "bzImage", "--cmdline", "x" * 5000)
    assert_one_clear_line(r, "--cmdline", "at most 2047")
    r = kvmbox("run", "--kernel", tiny_path(tmp_path), "--cmdline", "x" * 5000)
    assert_one_clear_line(r, "--cmdline", "at most 2047")


def tiny_path(tmp_path):
    p = tmp_path / "t.elf"
    p.write_bytes(tiny_elf.hello_poweroff())
    return p


def test_help_and_version():
    assert kvmbox("--help").returncode == 0
    r = kvmbox("run", "--help")
    assert r.returncode == 0 and b"--kernel" in r.stdout
    r = kvmbox("version")
    assert r.returncode == 0 and r.stdout.startswith(b"kvmbox ")


def test_check_reports_capabilities():
    r = kvmbox("check")
    assert r.returncode == 0, r.stdout
    assert b"KVM_CAP_IRQCHIP" in r.stdout and b"can run" in r.stdout


def test_failed_start_leaves_no_console_log_behind(tmp_path):
    log = tmp_path / "console.log"
    r = kvmbox("run", "--kernel", tmp_path / "nope", "--serial", f"file:{log}")
    assert r.returncode == 1
    assert not log.exists()
    log.write_text("earlier log\n")
    r = kvmbox("run", "--kernel", tmp_path / "nope", "--serial", f"file:{log}")
    assert r.returncode == 1
    assert log.read_text() == "earlier log\n"


# --- virtio devices ---

def test_disk_image_missing(tiny, tmp_path):
    r = kvmbox("run", "--kernel", tiny, "--disk", f"path={tmp_path / 'nope.img'}")
    assert_one_clear_line(r, "--disk path=", "nope.img", "No such file")


def test_disk_image_is_a_directory(tiny, tmp_path):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--disk", f"path={tmp_path}"),
                          "is a directory")


def test_disk_image_locked_by_another_user(tiny, tmp_path):
    img = tmp_path / "disk.img"
    img.write_bytes(bytes(1024 * 1024))
    with open(img, "rb") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what another kvmbox holds
        r = kvmbox("run", "--kernel", tiny, "--disk", f"path={img}")
        assert_one_clear_line(r, "in use by another process")
        r = kvmbox("run", "--kernel", tiny, "--disk", f"path={img},readonly=on")
        assert_one_clear_line(r, "in use by another process")


def test_disk_unknown_key_and_missing_path(tiny):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--disk", "path=a.img,format=qcow3"),
                          "unknown key 'format'")
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--disk", "readonly=on"),
                          "no image given")
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--disk", "a.img"),
                          "key=value")
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--disk", "path=a,readonly=maybe"),
                          "readonly=maybe")


def test_net_malformed_mac_and_unknown_key(tiny):
    for mac in ["52:54:00:12:34", "52:54:00:12:34:zz", "52-54-00-12-34-56"]:
        r = kvmbox("run", "--kernel", tiny, "--net", f"tap=t0,mac={mac}")
        assert_one_clear_line(r, f"mac={mac}", "not a MAC address")
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--net", "tap=t0,mac=01:00:5e:00:00:01"),
                          "multicast")
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--net", "tap=t0,model=e1000"),
                          "unknown key 'model'")
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--net", "mac=52:54:00:12:34:56"),
                          "no tap device")


def test_tap_that_cannot_be_created(tiny):
    # Without CAP_NET_ADMIN (dropped from the bounding set) a new tap cannot be made.
    r = subprocess.run(["setpriv", "--bounding-set=-net_admin", str(KVMBOX), "run",
                        "--kernel", str(tiny), "--net", "tap=kvmboxnoperm0"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    assert_one_clear_line(r, "tap=kvmboxnoperm0", "permission denied", "CAP_NET_ADMIN")


def test_console_mode_unknown(tiny):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--console", "vga"),
                          "--console vga", "serial or virtio")


def test_bad_sandbox_value(tiny):
    assert_one_clear_line(kvmbox("run", "--kernel", tiny, "--sandbox", "maybe"),
                          "--sandbox maybe", "on or off")
