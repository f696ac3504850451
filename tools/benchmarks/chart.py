"""results.png: tern beside SLOF and VOF per measure, as ratios (tern/SLOF, tern/VOF).

One line per measured row that has a ratio: a bar from 1 to tern/SLOF and one to tern/VOF (the
ratio of the medians, printed beside it; left of 1 tern takes less time or space, right of it
more; for a rate, MiB/s, right of 1 tern is faster), and a dot per round for that round's paired
ratio. The x axis is logarithmic, so 0.5 and 2 lie equally far from 1. Rows without a ratio
(tern-only figures) are in results.md; rows not measured, and firmwares that failed a row, are
named under the chart. matplotlib is Debian's python3-matplotlib (tools/deps.sh bench).
"""
import textwrap

from . import report

COLOURS = {"slof": "#4c72b0", "vof": "#dd8452"}


def compared_rows(rows):
    """The measured rows with at least one ratio, in report order."""
    return [row for row in rows if row.measured and
            any(report.ratio(row, other) for other in report.OTHERS if other in row.firmwares)]


def footer(rows):
    """A line per kind of row that is not in the chart because it has no figures."""
    groups = {}
    for row in rows:
        if row.measured or row.status.startswith("not measured (--only)"):
            continue
        kind = "failed" if row.status.startswith("failed") else row.status
        groups.setdefault(kind, []).append(row.title)
    for row in rows:
        if row.measured and row.failures:
            labels = " and ".join(report.LABELS[firmware] for firmware in row.failures)
            groups.setdefault(f"failed on {labels}", []).append(row.title)
    return [f"{kind}: {', '.join(titles)}" for kind, titles in groups.items()]


def write_chart(path, rows, meta):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    shown = compared_rows(rows)
    notes = [wrapped for line in footer(rows) for wrapped in textwrap.wrap(line, 150)]
    height = 1.8 + 0.6 * max(len(shown), 1) + 0.18 * len(notes)
    figure, axes = plt.subplots(figsize=(11, height))
    bar = 0.36
    seen = [1.0]
    labelled = set()
    for index, row in enumerate(shown):
        for slot, other in enumerate(report.OTHERS):
            y = index + (slot - 0.5) * bar
            r = report.ratio(row, other) if other in row.firmwares else None
            if r is None:
                axes.text(1.0, y, " n/a", va="center", fontsize=7, color="grey")
                continue
            value = r["of_medians"]
            seen += [value, *r["paired"]]
            name = report.ratio_name(other)
            axes.barh(y, value - 1.0, left=1.0, height=bar * 0.9, color=COLOURS[other],
                      label=None if name in labelled else name)
            labelled.add(name)
            # The end of the bar stays visible at a ratio of 1.
            axes.plot([value], [y], marker="D", color=COLOURS[other], markersize=4, zorder=3)
            if len(r["paired"]) > 1:
                axes.plot(r["paired"], [y] * len(r["paired"]), "k.", markersize=3)
            # The number goes beyond the bar and its dots, on the bar's side of 1.
            if value >= 1:
                axes.text(max([value, *r["paired"]]) * 1.04, y, f"{value:.2f}×", va="center",
                          ha="left", fontsize=7)
            else:
                axes.text(min([value, *r["paired"]]) / 1.04, y, f"{value:.2f}×", va="center",
                          ha="right", fontsize=7)
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xscale("log")
    low, high = min(seen), max(seen)
    axes.set_xlim(low / 2.5, high * 2.5)
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200)
             if low / 2.5 <= t <= high * 2.5]
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticklabels([f"{t:g}" for t in ticks], fontsize=8)
    axes.set_yticks(range(len(shown)))
    axes.set_yticklabels([f"{row.title} ({row.unit})" for row in shown], fontsize=8)
    axes.set_ylim(len(shown) - 0.5, -0.5)
    axes.grid(axis="x", color="0.9")
    axes.set_axisbelow(True)
    axes.set_xlabel("tern's median ÷ the other firmware's median (log scale): "
                    "left of 1 tern takes less time or space (for a rate, MiB/s: right of 1 tern "
                    "is faster); dots: single rounds", fontsize=8)
    qemu = meta.get("qemu", {}).get("version", "?")
    tern = meta.get("firmware", {}).get("tern", {}).get("version", "?")
    axes.set_title(f"tern {tern} beside SLOF and VOF: QEMU {qemu}, {meta.get('rounds')} "
                   f"round(s)", fontsize=10)
    if labelled:
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    if notes:
        figure.text(0.01, 0.01, "\n".join(["Not in the chart:", *notes]), fontsize=7,
                    color="dimgrey", va="bottom")
    bottom = (0.1 + 0.14 * (len(notes) + 1)) / height if notes else 0
    figure.tight_layout(rect=(0, bottom, 1, 1))
    figure.savefig(path, dpi=120)
    plt.close(figure)
