"""The benchmark report: rows of figures per firmware, ratios, results.json and results.md.

A row is one quantity (one unit) measured on some firmwares, one value per round each. Rows that
were not measured carry a status instead ("not yet": no measure function exists; "not measured
(...)": left out unless asked for; "failed: ..."). A measured row can also name firmwares that
failed it (`failures`, for measures that keep going without them): their cells say "failed".
Nothing here runs QEMU: it is tested on made-up figures by tests/bench/report_test.py.
"""
import json
import statistics
from dataclasses import dataclass, field

FIRMWARES = ("tern", "slof", "vof")
LABELS = {"tern": "tern", "slof": "SLOF", "vof": "VOF"}
OTHERS = ("slof", "vof")  # the ratios are tern/SLOF and tern/VOF

MEASURED = "measured"
NOT_YET = "not yet"


@dataclass
class Row:
    id: str
    title: str
    unit: str
    firmwares: tuple  # the firmwares this row is measured on; the others are "n/a"
    qemu: str = None  # QEMU version the figures come from; None for host-only measures
    values: dict = field(default_factory=dict)  # firmware -> [one value per round]
    status: str = MEASURED  # MEASURED, NOT_YET, "not measured (...)" or "failed: ..."
    notes: list = field(default_factory=list)
    failures: dict = field(default_factory=dict)  # firmware -> why it failed (the others stand)

    def add(self, firmware, value):
        self.values.setdefault(firmware, []).append(float(value))

    def fail(self, message):
        self.status = "failed: " + first_line(message)

    def fail_firmware(self, firmware, message):
        """`firmware` failed this row; the other firmwares' figures stand."""
        self.failures[firmware] = first_line(message)

    @property
    def measured(self):
        return self.status == MEASURED


def first_line(message):
    return message.strip().splitlines()[0][:200] if message.strip() else "(no message)"


def summary(values):
    """median, min and max of one firmware's values (None when there are none)."""
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def ratio(row, other):
    """tern against `other` on this row: the ratio of the medians, each round's paired ratio
    (tern's value over the other's in the same round) and their median; None when either firmware
    has no figure or the other's median is 0."""
    tern, theirs = row.values.get("tern"), row.values.get(other)
    if not tern or not theirs:
        return None
    denominator = statistics.median(theirs)
    if denominator == 0:
        return None
    paired = [t / o for t, o in zip(tern, theirs) if o != 0]
    return {"of_medians": statistics.median(tern) / denominator,
            "paired": paired,
            "paired_median": statistics.median(paired) if paired else None}


def ratio_name(other):
    return f"tern/{LABELS[other]}"


def to_json(rows, meta):
    """The whole report as a JSON-ready dict: `meta` (QEMU, firmwares, rounds, host...) and, per
    row, its status and one figure per firmware with unit, firmware, QEMU version, rounds,
    median, min, max and the values themselves."""
    out_rows = []
    for row in rows:
        figures = []
        for firmware in row.firmwares:
            values = row.values.get(firmware, [])
            stats = summary(values)
            figures.append({"firmware": firmware, "unit": row.unit, "qemu": row.qemu,
                            "rounds": len(values), "values": values,
                            **(stats or {"median": None, "min": None, "max": None}),
                            "failed": row.failures.get(firmware)})
        ratios = {}
        for other in OTHERS:
            if other in row.firmwares:
                ratios[ratio_name(other)] = ratio(row, other)
        out_rows.append({"id": row.id, "title": row.title, "unit": row.unit,
                         "status": row.status, "notes": row.notes,
                         "firmwares": list(row.firmwares), "figures": figures,
                         "ratios": ratios})
    return {"meta": meta, "rows": out_rows}


def write_json(path, rows, meta):
    with open(path, "w") as out:
        json.dump(to_json(rows, meta), out, indent=2)
        out.write("\n")


def format_number(value, unit):
    if unit == "s":
        return f"{value:.2f}"
    if unit == "ms":
        return f"{value:.0f}"
    if abs(value - round(value)) < 1e-9 or abs(value) >= 1000:
        return f"{round(value):,}"
    return f"{value:,.1f}"


def format_cell(values, unit):
    """median, and [min–max] when there is more than one round."""
    stats = summary(values)
    if stats is None:
        return "—"
    text = format_number(stats["median"], unit)
    if len(values) > 1 and stats["min"] != stats["max"]:
        text += (f" ({format_number(stats['min'], unit)}–"
                 f"{format_number(stats['max'], unit)})")
    return text


def to_markdown(rows, meta):
    lines = ["# tern benchmark", ""]
    lines += [f"- {key}: {value}" for key, value in meta_lines(meta)]
    lines += ["", "Each cell: the median over the rounds, (min–max) when they differ. Ratios: "
              "tern's median over the other's; below 1, tern takes less (time, bytes); for a rate "
              "(MiB/s), above 1 tern is faster.", ""]
    header = ["measure", "unit", *(LABELS[f] for f in FIRMWARES), *(ratio_name(o) for o in OTHERS),
              "notes"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for row in rows:
        cells = [row.title, row.unit]
        if not row.measured:
            cells += [row.status] + ["—"] * (len(FIRMWARES) - 1 + len(OTHERS))
        else:
            for firmware in FIRMWARES:
                if firmware not in row.firmwares:
                    cells.append("n/a")
                elif firmware in row.failures:
                    values = row.values.get(firmware, [])
                    cells.append(f"{format_cell(values, row.unit)}, then failed" if values else
                                 "failed")
                else:
                    cells.append(format_cell(row.values.get(firmware, []), row.unit))
            for other in OTHERS:
                r = ratio(row, other) if other in row.firmwares else None
                cells.append(f"{r['of_medians']:.2f}" if r else
                             ("n/a" if other not in row.firmwares else "—"))
        cells.append("; ".join([*row.notes, *(f"{LABELS[firmware]} failed: {why}"
                                              for firmware, why in row.failures.items())]))
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def meta_lines(meta):
    """The report's header, in a fixed order, as (label, text) pairs."""
    firmware = meta.get("firmware", {})
    pairs = [("date", meta.get("date")),
             ("QEMU", meta.get("qemu", {}).get("version_line")),
             ("rounds", meta.get("rounds")),
             ("tern", firmware.get("tern", {}).get("description")),
             ("SLOF", firmware.get("slof", {}).get("description")),
             ("VOF", firmware.get("vof", {}).get("description")),
             ("host", meta.get("host", {}).get("description"))]
    return [(label, text) for label, text in pairs if text is not None]


def write_markdown(path, rows, meta):
    with open(path, "w") as out:
        out.write(to_markdown(rows, meta))
