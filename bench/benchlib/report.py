"""Samples -> statistics -> bench/results/<date>.md, .json and .png."""
import json
import statistics


class Figure:
    """One figure: samples per VMM, its unit, whether more is better, and its target."""

    def __init__(self, key, title, unit, higher_is_better=False, target=None):
        self.key, self.title, self.unit = key, title, unit
        self.higher_is_better = higher_is_better
        self.target = target  # e.g. "<= 0.3x QEMU, < 5 ms"
        self.samples = {"kvmbox": [], "qemu": []}

    def add(self, vmm, value):
        if value is not None:
            self.samples[vmm].append(float(value))

    def stats(self, vmm):
        v = self.samples[vmm]
        if not v:
            return None
        return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": len(v)}

    def ratio(self):
        """kvmbox / QEMU of the medians (None without both)."""
        a, b = self.stats("kvmbox"), self.stats("qemu")
        if not a or not b or b["median"] == 0:
            return None
        return a["median"] / b["median"]

    def to_json(self):
        return {"title": self.title, "unit": self.unit,
                "higher_is_better": self.higher_is_better, "target": self.target,
                "samples": self.samples,
                "kvmbox": self.stats("kvmbox"), "qemu": self.stats("qemu"),
                "ratio_kvmbox_to_qemu": self.ratio()}


def fmt(x):
    if x is None:
        return "-"
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def stat_cell(s):
    if not s:
        return "-"
    return f"{fmt(s['median'])} ({fmt(s['min'])}-{fmt(s['max'])}, n={s['runs']})"


def markdown(figures, context):
    lines = [f"# kvmbox benchmarks, {context['date']}", "",
             f"Host: {context['host']}. kvmbox {context['kvmbox_version']}, "
             f"{context['qemu_version']}. Runs alternate kvmbox and QEMU (A B A B); each cell "
             "is median (min-max, runs). Ratio = kvmbox / QEMU of the medians "
             "(below 1 is better for times and sizes, above 1 for throughput).", "",
             "| figure | unit | kvmbox | QEMU | kvmbox/QEMU | better | target |",
             "|---|---|---|---|---|---|---|"]
    for f in figures:
        lines.append(f"| {f.title} | {f.unit} | {stat_cell(f.stats('kvmbox'))} | "
                     f"{stat_cell(f.stats('qemu'))} | {fmt(f.ratio())} | "
                     f"{'higher' if f.higher_is_better else 'lower'} | {f.target or ''} |")
    lines += ["", "Notes:", ""] + [f"- {n}" for n in context.get("notes", [])]
    return "\n".join(lines) + "\n"


def write_json(path, figures, context):
    path.write_text(json.dumps({"context": context,
                                "figures": {f.key: f.to_json() for f in figures}},
                               indent=1) + "\n")


def plot(path, figures):
    """One panel per figure: median bars with min-max whiskers, kvmbox beside QEMU."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [f for f in figures if f.stats("kvmbox") or f.stats("qemu")]
    cols = 4
    rows = max(1, (len(shown) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax in axes.flat[len(shown):]:
        ax.axis("off")
    for ax, f in zip(axes.flat, shown):
        names, meds, lo, hi = [], [], [], []
        for vmm, label in (("kvmbox", "kvmbox"), ("qemu", "QEMU")):
            s = f.stats(vmm)
            if s:
                names.append(label)
                meds.append(s["median"])
                lo.append(s["median"] - s["min"])
                hi.append(s["max"] - s["median"])
        ax.bar(names, meds, yerr=[lo, hi], capsize=4, color=["#2a7", "#888"][:len(names)])
        r = f.ratio()
        ax.set_title(f"{f.title}\n({f.unit}{', ratio %.2f' % r if r else ''})", fontsize=8)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
