#!/usr/bin/python3
"""kvmbox beside QEMU on the same guests: start-up, memory, exits, Linux boot, block,
network and density. Runs alternate A B A B; the report goes to bench/results/<date>.md,
.json and .png. See bench/README.md.

Usage: bench/run.py [--runs N] [--smoke] [--only NAME,...] [--out DIR]
"""
import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import guests, proc, report, vmms  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VMMS = ("kvmbox", "qemu")
HOST_IP, GUEST_IP = "10.205.0.1", "10.205.0.2"
MiB = 1 << 20


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Phases:
    """Where a long run's time goes: "boot 35.1 s, dd read 2.0 s, ..." for the log."""

    def __init__(self):
        self.t = time.monotonic()
        self.parts = []

    def done(self, name):
        now = time.monotonic()
        self.parts.append(f"{name} {now - self.t:.1f} s")
        self.t = now

    def __str__(self):
        return ", ".join(self.parts)


def alternate(runs, fn):
    """fn(vmm) for kvmbox, QEMU, kvmbox, QEMU ... runs times each."""
    for i in range(runs):
        for vmm in VMMS:
            fn(vmm, i)


# --- 1. start-up ---------------------------------------------------------------------------

def bench_startup(cfg, tmp, figs):
    first = figs.new("startup", "start-up: exec to the guest's first instruction (its first "
                     "serial byte seen)", "ms", target="<= 0.3x QEMU, < 5 ms")
    to_exit = figs.new("startup_exit", "start-up: exec to exit, guest exits at once (adds VM "
                       "teardown)", "ms")
    first_run = figs.new("first_kvm_run", "kvmbox: exec to vCPU 0's first KVM_RUN", "ms",
                         target="< 5 ms")
    image = guests.exit_firmware(tmp / "exit.bin")

    def one(vmm, i):
        argv = vmms.firmware_exit(vmm, image, serial=True)
        if vmm == "kvmbox":
            argv.insert(2, "-v")
        p, t0 = proc.spawn(argv)
        try:
            seen = proc.wait_output(p, b"!", 30)
            status = p.wait(30)
            t_exit = time.monotonic()
            err = p.stderr.read().decode(errors="replace")
        finally:
            proc.stop(p)
        assert seen and status == 1, f"{vmm}: status {status}, output seen: {bool(seen)}"
        first.add(vmm, (seen - t0) * 1e3)
        to_exit.add(vmm, (t_exit - t0) * 1e3)
        m = re.search(r"KVM_RUN ([0-9.]+) ms", err)
        if m:
            first_run.add(vmm, float(m.group(1)))
    alternate(cfg.runs * 2, one)


# --- 2. memory overhead ----------------------------------------------------------------------

def overhead_mib(argv, prefix=(), mem_mib=128):
    p, _ = proc.spawn(argv, prefix)
    try:
        assert proc.wait_output(p, b"ready", 30), f"no 'ready' from {argv[0]}"
        time.sleep(0.3)
        total, guest = proc.rss_kib(p.pid, mem_mib * MiB)
    finally:
        proc.stop(p)
    return (total - guest) / 1024


def bench_memory(cfg, tmp, figs):
    idle = figs.new("mem_idle", "memory overhead: idle guest, 1 vCPU, 128 MiB",
                    "MiB", target="<= 0.1x QEMU, < 3 MiB")
    devs = figs.new("mem_devices", "memory overhead: same + 4 disks + 2 NICs", "MiB",
                    target="<= 0.1x QEMU")
    kernel = guests.idle_kernel(tmp / "idle.elf")
    disks = [guests.sparse_disk(tmp / f"disk{i}.img", 64) for i in range(4)]
    taps = ["kbxmem0", "kbxmem1"]
    with guests.netns(f"kvmbox-bench-mem-{os.getpid()}", taps) as ns:
        def one(vmm, i):
            idle.add(vmm, overhead_mib(vmms.tiny_kernel(vmm, kernel)))
            devs.add(vmm, overhead_mib(vmms.tiny_kernel(vmm, kernel, disks=disks, taps=taps),
                                       prefix=("ip", "netns", "exec", ns)))
        alternate(cfg.runs, one)


# --- 3. exit round trip ----------------------------------------------------------------------

def bench_exits(cfg, tmp, figs):
    pio = figs.new("exit_pio", "exit round trip: PIO write (loop in ring 0)", "ns/exit",
                   target="<= 0.9x QEMU")
    mmio = figs.new("exit_mmio", "exit round trip: MMIO write (loop in ring 3)", "ns/exit",
                    target="<= 0.9x QEMU")
    loop = figs.new("exit_ring0_loop", "the same ring-0 loop without exits (emulated here)",
                    "ns/iter")
    kernel = ROOT / "build" / "guests" / "exitbench.elf"
    khz = guests.host_tsc_khz(tmp)

    def one(vmm, i):
        _, status, out, err = proc.run_timed(vmms.exitbench(vmm, kernel, cfg.exits, khz),
                                             timeout=300)
        assert status == 1, f"{vmm}: exitbench status {status}: {out}{err}"
        for fig, name in ((pio, "pio"), (mmio, "mmio"), (loop, "ring0-loop")):
            m = re.search(rf"exitbench: {name} \d+ exits ([0-9.]+) ns/exit", out)
            assert m, f"{vmm}: no {name} figure in: {out}"
            fig.add(vmm, float(m.group(1)))
    alternate(cfg.runs, one)


# --- 4. block: a virtio-blk driver in guest ring 3 ---------------------------------------------

BLOCK_FIGURES = [  # key, title, vblkbench name, queue depth, unit
    ("blk_seq_read", "block (ring-3 driver): sequential read, 1 MiB, QD1", "seq-read", 1,
     "MB/s"),
    ("blk_seq_write", "block (ring-3 driver): sequential write, 1 MiB, QD1", "seq-write", 1,
     "MB/s"),
    ("blk_randread_qd1", "block (ring-3 driver): 4 KiB random read, QD1", "rand-read", 1,
     "IOPS"),
    ("blk_randread_qd32", "block (ring-3 driver): 4 KiB random read, QD32", "rand-read", 32,
     "IOPS"),
    ("blk_randwrite_qd1", "block (ring-3 driver): 4 KiB random write, QD1", "rand-write", 1,
     "IOPS"),
    ("blk_randwrite_qd32", "block (ring-3 driver): 4 KiB random write, QD32", "rand-write", 32,
     "IOPS"),
]


def bench_block(cfg, tmp, figs):
    figures = {k: figs.new(k, t, u, higher_is_better=True, target=">= 1.1x QEMU")
               for k, t, _, _, u in BLOCK_FIGURES}
    kernel = ROOT / "build" / "guests" / "vblkbench.elf"
    disk = guests.stamped_disk(tmp / "stamped.img", 64)
    cmdline = f"ms={cfg.io_ms} qd=32 stamped tsc_khz={guests.host_tsc_khz(tmp)}"

    def one(vmm, i):
        _, status, out, err = proc.run_timed(vmms.vblkbench(vmm, kernel, disk, cmdline),
                                             timeout=120)
        # status 1: every check passed (each request OK, every read the right block)
        assert status == 1, f"{vmm}: vblkbench status {status}: {out}{err}"
        for key, _, name, qd, unit in BLOCK_FIGURES:
            m = re.search(rf"^vblkbench: {name} bs \d+ qd {qd} \d+ requests (\d+) MB/s\*100 "
                          r"(\d+) IOPS", out, re.M)
            assert m, f"{vmm}: no {name} qd {qd} figure in: {out}"
            figures[key].add(vmm, int(m.group(1)) / 100 if unit == "MB/s" else int(m.group(2)))
    alternate(cfg.runs, one)


# --- 5. network: a virtio-net driver in guest ring 3 --------------------------------------------

def bench_net(cfg, tmp, figs):
    tx = figs.new("net_ring3_tx", "network (ring-3 driver): guest to host, 1514-byte frames",
                  "MB/s", higher_is_better=True, target=">= 1.1x QEMU")
    rtt = figs.new("net_ring3_rtt", "network (ring-3 driver): 60-byte frame round trip, "
                   "guest to host and back", "us", target="<= 0.91x QEMU (>= 1.1x the rate)")
    kernel = ROOT / "build" / "guests" / "vnetbench.elf"
    echo = guests.tap_echo(tmp)
    cmdline = f"ms={cfg.io_ms} tsc_khz={guests.host_tsc_khz(tmp)}"
    tap = "kbxnet0"
    with guests.netns(f"kvmbox-bench-net-{os.getpid()}", [tap]) as ns:
        guests.sh("ip", "-n", ns, "link", "set", tap, "up")  # QEMU leaves it down

        def one(vmm, i):
            with guests.echoing(ns, echo, tap) as counts:
                _, status, out, err = proc.run_timed(
                    ["ip", "netns", "exec", ns, *vmms.vnetbench(vmm, kernel, tap, cmdline)],
                    timeout=120)
            # status 1: every frame completed, every echo came back in order
            assert status == 1, f"{vmm}: vnetbench status {status}: {out}{err}"
            m = re.search(r"^vnetbench: tx size \d+ (\d+) frames (\d+) MB/s\*100", out, re.M)
            assert m, f"{vmm}: no tx figure in: {out}"
            tx.add(vmm, int(m.group(2)) / 100)
            m = re.search(r"^vnetbench: rtt size \d+ (\d+) round trips (\d+) ns", out, re.M)
            assert m and int(m.group(1)) == counts.get("echoed"), \
                f"{vmm}: round trips vs tap_echo's {counts}: {out}"
            rtt.add(vmm, int(m.group(2)) / 1000)
        alternate(cfg.runs, one)


# --- 6-7. Linux: boot, dd, network -------------------------------------------------------------

def tcp_server(ns, port, send_bytes):
    """The host end of one TCP transfer in the namespace; returns (thread, result)."""
    script = (
        "import socket,time\n"
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('{HOST_IP}', {port})); s.listen(1); print('ready', flush=True)\n"
        "c,_=s.accept(); t=time.monotonic(); n=0\n"
        + (f"buf=bytes({send_bytes})\nc.sendall(buf); c.shutdown(socket.SHUT_WR); c.recv(1)\n"
           if send_bytes else
           "while True:\n    d=c.recv(1<<16)\n    if not d: break\n    n+=len(d)\n")
        + "print(time.monotonic()-t, n, flush=True)\n")
    p = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", script],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    result = {}

    def wait():
        out, _ = p.communicate(timeout=1800)
        result["seconds"], result["bytes"] = float(out.split()[0]), int(out.split()[1])
    t = threading.Thread(target=wait)
    t.start()
    return t, result


def bench_linux(cfg, tmp, figs):
    from conftest import Guest  # the e2e tests' console driver (tests/e2e)
    boot = figs.new("linux_boot", "Linux: exec to /init (1 vCPU, 128 MiB, 2 virtio devices)",
                    "s", target="track the ratio (guest ring 0 is emulated here)")
    dd = {op: figs.new(f"linux_dd_{op}", f"Linux: dd {op}, 1 MiB blocks, O_DIRECT (busybox)",
                       "MB/s", higher_is_better=True, target=">= 1.1x QEMU")
          for op in ("read", "write")}
    h2g = figs.new("net_h2g", "network: TCP host to guest", "MB/s", higher_is_better=True,
                   target=">= 1.1x QEMU")
    g2h = figs.new("net_g2h", "network: TCP guest to host", "MB/s", higher_is_better=True,
                   target=">= 1.1x QEMU")
    kernel_dir = guests.qemu_capable_kernel()
    test = guests.stamped_disk(tmp / "test.img", max(cfg.block_mib, 8))
    # One short command per figure: every character typed at the console costs milliseconds
    # of emulated guest here.
    dd_commands = {
        "read": f"time -p dd if=/dev/vda of=/dev/null bs=1M count={cfg.block_mib} iflag=direct",
        "write": f"time -p dd if=/dev/zero of=/dev/vda bs=1M count={cfg.block_mib} "
                 "oflag=direct conv=fsync"}
    cmdline = (ROOT / "guest" / "cmdline").read_text().strip()
    tap = "kbxbench0"
    with guests.netns(f"kvmbox-bench-linux-{os.getpid()}", [tap]) as ns:
        def one(vmm, i):
            argv = vmms.linux(vmm, kernel_dir, cmdline, mem_mib=128, disks=[test], tap=tap)
            g = Guest([], prefix=("ip", "netns", "exec", ns), program=argv)
            phases = Phases()
            try:
                boot.add(vmm, g.wait_boot())
                phases.done("boot")
                guests.sh("ip", "-n", ns, "addr", "replace", f"{HOST_IP}/24", "dev", tap)
                guests.sh("ip", "-n", ns, "link", "set", tap, "up")
                g.run(f"ip addr add {GUEST_IP}/24 dev eth0; ip link set eth0 up")
                phases.done("network set-up")
                for op, command in dd_commands.items():
                    out = g.run(f"{command} 2>&1", timeout=900)
                    m = re.search(r"real ([0-9.]+)", out)
                    assert m and f"{cfg.block_mib}+0 records" in out, f"{vmm}: dd: {out}"
                    dd[op].add(vmm, cfg.block_mib * MiB / 1e6 / max(float(m.group(1)), 0.01))
                    phases.done(f"dd {op}")
                t, r = tcp_server(ns, 5201, cfg.net_kib * 1024)
                g.run(f"nc {HOST_IP} 5201 > /dev/null", timeout=900)
                t.join()
                h2g.add(vmm, cfg.net_kib * 1024 / r["seconds"] / 1e6)
                phases.done("tcp h2g")
                t, r = tcp_server(ns, 5202, 0)
                g.run(f"head -c {cfg.net_kib * 1024} /dev/zero | nc {HOST_IP} 5202",
                      timeout=900)
                t.join()
                assert r["bytes"] == cfg.net_kib * 1024, r
                g2h.add(vmm, cfg.net_kib * 1024 / r["seconds"] / 1e6)
                phases.done("tcp g2h")
            finally:  # no poweroff: ~10 s of emulated guest shutdown per run measures nothing
                g.kill()
                phases.done("kill")
                log(f"linux {vmm} run {i + 1}: {phases}")
        alternate(cfg.linux_runs, one)


# --- 8. density ------------------------------------------------------------------------------

def start_many(argvs, needle, timeout):
    """Starts every argv at once; returns (how many showed needle or exited 1, seconds until
    the last did, summed RSS in MiB of those still running)."""
    t0 = time.monotonic()
    procs = [proc.spawn(a)[0] for a in argvs]
    ok = 0
    try:
        for p in procs:
            left = max(0.1, t0 + timeout - time.monotonic())
            if needle is None:
                try:
                    ok += p.wait(left) == 1
                except subprocess.TimeoutExpired:
                    pass
            elif proc.wait_output(p, needle, left):
                ok += 1
        seconds = time.monotonic() - t0
        rss = sum(proc.rss_kib(p.pid)[0] for p in procs if p.poll() is None) / 1024
    finally:
        for p in procs:
            proc.stop(p)
    return ok, seconds, rss


def bench_density(cfg, tmp, figs):
    n = cfg.density
    ok_exit = figs.new("density_exit_ok", f"density: {n} exit-at-once 64 MiB guests started "
                       "together, how many ran", "guests", higher_is_better=True)
    t_exit = figs.new("density_exit_time", f"density: time for {n} exit-at-once guests", "s")
    ok_idle = figs.new("density_idle_ok", f"density: {n} idle 64 MiB guests started together, "
                       "how many came up", "guests", higher_is_better=True)
    t_idle = figs.new("density_idle_time", f"density: time until {n} idle guests are up", "s")
    rss = figs.new("density_idle_rss", f"density: summed RSS of {n} idle guests", "MiB")
    firmware = guests.exit_firmware(tmp / "exit.bin")
    kernel = guests.idle_kernel(tmp / "idle.elf")

    def one(vmm, i):
        ok, s, _ = start_many([vmms.firmware_exit(vmm, firmware) for _ in range(n)], None, 120)
        ok_exit.add(vmm, ok)
        t_exit.add(vmm, s)
        ok, s, mib = start_many([vmms.tiny_kernel(vmm, kernel, mem_mib=64) for _ in range(n)],
                                b"ready", 120)
        ok_idle.add(vmm, ok)
        t_idle.add(vmm, s)
        rss.add(vmm, mib)
    alternate(cfg.density_runs, one)


# --- driver ----------------------------------------------------------------------------------

class Figures(list):
    def new(self, *args, **kw):
        f = report.Figure(*args, **kw)
        self.append(f)
        return f


BENCHES = {"startup": bench_startup, "memory": bench_memory, "exits": bench_exits,
           "block": bench_block, "net": bench_net, "linux": bench_linux,
           "density": bench_density}


def version(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per VMM of the quick figures")
    ap.add_argument("--linux-runs", type=int, default=5, help="Linux boots per VMM")
    ap.add_argument("--smoke", action="store_true",
                    help="one short iteration of everything (for make test)")
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated: "
                    + ", ".join(BENCHES))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    cfg = ap.parse_args()
    cfg.exits, cfg.io_ms, cfg.block_mib, cfg.net_kib = 30000, 1000, 2, 128
    cfg.density, cfg.density_runs = 50, 2
    if cfg.smoke:
        cfg.runs = cfg.linux_runs = cfg.density_runs = 1
        cfg.exits, cfg.io_ms, cfg.block_mib, cfg.net_kib = 2000, 100, 1, 16
        cfg.density = 3
    if os.geteuid() != 0:
        sys.exit("bench/run.py: needs root (network namespaces and taps)")
    names = [n for n in cfg.only.split(",") if n]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        sys.exit(f"bench/run.py: --only {','.join(unknown)}: unknown; use {', '.join(BENCHES)}")
    figs = Figures()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kvmbox-bench-") as d:
        for name in names:
            log(f"{name} ...")
            t = time.monotonic()
            BENCHES[name](cfg, Path(d), figs)
            log(f"{name}: {time.monotonic() - t:.0f} s")
    now = datetime.datetime.now()
    context = {
        "date": now.strftime("%Y-%m-%d %H:%M"),
        "host": f"Linux {platform.release()}, {os.cpu_count()} CPUs, KVM: "
                + ("kvm_pvm (nested, shadow paging)" if os.path.exists("/sys/module/kvm_pvm")
                   else "kvm"),
        "kvmbox_version": version([str(vmms.KVMBOX), "version"]).replace("kvmbox ", ""),
        "qemu_version": version([vmms.QEMU, "--version"]),
        "runs": {"quick": cfg.runs, "linux": cfg.linux_runs, "density": cfg.density_runs},
        "seconds": round(time.monotonic() - started),
        "smoke": cfg.smoke,
        "notes": [
            "Guest ring 0 is emulated instruction by instruction on this nested, "
            "shadow-paging host (kvm_pvm): the Linux figures (boot, dd, TCP) measure that "
            "emulation first; both VMMs pay it alike. The block figures come from a "
            "virtio-blk driver in guest ring 3 (tests/guests/vblkbench.c), which runs "
            "natively: they show the VMMs' own I/O paths. Both VMMs use their default "
            "disk cache mode (host page cache) on a 64 MiB raw image. The same holds for "
            "the ring-3 network driver (tests/guests/vnetbench.c) against "
            "bench/tools/tap_echo.c on the tap.",
            "PIO exits are timed from a ring-0 loop (ring 3 cannot do port I/O on kvm_pvm); "
            "the loop's own cost is the 'ring-0 loop' figure. MMIO exits come from ring 3.",
            "QEMU runs microvm (no firmware); the block driver and Linux on microvm's PCIe, "
            "virtio-pci like kvmbox, vhost off. Both boot the same kernel: the default one "
            "plus bench/patches/qemu-compare-int3-fwait.patch, which QEMU needs here.",
        ],
    }
    stem = "smoke" if cfg.smoke else now.strftime("%Y-%m-%d")
    cfg.out.mkdir(parents=True, exist_ok=True)
    md = report.markdown(figs, context)
    (cfg.out / f"{stem}.md").write_text(md)
    report.write_json(cfg.out / f"{stem}.json", figs, context)
    report.plot(cfg.out / f"{stem}.png", figs)
    print(md)
    log(f"report: {cfg.out / stem}.md, .json, .png ({context['seconds']} s)")


if __name__ == "__main__":
    main()
