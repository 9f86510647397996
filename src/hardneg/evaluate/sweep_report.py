"""Evaluate stage, the sweep's part of a dataset's results: one row per swept variant
(its values and the main metric with its interval), the best variant and whether its lead
over ``shipped`` and over ``seed`` has a paired interval above zero, and a plot of the
main metric against each swept option (SVG, inlined in the evaluation page).
"""

from __future__ import annotations

import html
import io

import numpy as np

from ..options import PRESETS
from .metrics import MAIN_METRIC, compare
from .variants import SWEEP_PREFIX, TEACHER_KEY, TRAINING_KEYS

REFERENCES = ("shipped", "seed")  # the variants a best variant's lead is measured against


def sweep_section(result: dict, values: dict, job) -> dict | None:
    """The ``sweep`` entry of a dataset's evaluation; None without ``evaluate.sweep``.
    ``values``: {variant: {metric: per-query array}}."""
    axes = dict(job.evaluate.sweep or {})
    if not axes:
        return None
    swept = [v for v in result["order"] if v.startswith(SWEEP_PREFIX + ".")]
    rows = [
        {
            "variant": v,
            "values": {k: _value(result["variants"][v], k) for k in axes},
            MAIN_METRIC: result["variants"][v]["metrics"][MAIN_METRIC],
            "training_rows": result["variants"][v]["training_rows"],
        }
        for v in swept
    ]
    trained = [v for v in result["order"] if v != "base"]
    best = max(trained, key=lambda v: (result["variants"][v]["metrics"][MAIN_METRIC]["mean"], v))
    lead = {}
    for ref in REFERENCES:
        if ref in values and ref != best:
            c = compare(values[best][MAIN_METRIC], values[ref][MAIN_METRIC], job.evaluate.bootstrap, job.evaluate.seed)
            lead[ref] = {**c, "above_zero": bool(c["ci95"][0] > 0)}
    shipped = job.mining.get("shipped") or {}
    is_seed = all(shipped.get(k) == v for k, v in PRESETS["seed"].items() if not k.startswith("output_"))
    return {"axes": axes, "rows": rows, "best": best, "lead": lead, "shipped_is_seed": is_seed}


def _value(variant: dict, key: str):
    """A swept option's value in a variant's results: its mining options, (a training
    option) what its training job records, or its teacher."""
    if key == TEACHER_KEY:
        return variant["teacher"]
    return variant["training"][key] if key in TRAINING_KEYS else variant["mining"][key]


def verdict(sweep: dict) -> str:
    """One sentence: the best variant and what its lead over the references is worth."""
    parts = []
    is_seed = sweep.get("shipped_is_seed")
    for ref, c in sweep["lead"].items():
        sure = "above zero" if c["above_zero"] else "not above zero"
        name = "shipped (the seed preset)" if ref == "shipped" and is_seed else ref
        parts.append(f"over {name} {c['mean']:+.4f} [{c['ci95'][0]:+.4f}, {c['ci95'][1]:+.4f}], {sure}")
    missing = [r for r in REFERENCES if r not in sweep["lead"] and r != sweep["best"] and not (r == "seed" and is_seed)]
    if missing:
        parts.append(f"no {' or '.join(missing)} variant to compare with")
    return f"best variant by {MAIN_METRIC}: {sweep['best']}" + ("; lead " + "; ".join(parts) if parts else "")


def plot_svg(sweep: dict, dataset: str) -> str:
    """The main metric against each swept option: one panel per option, one line per
    setting of the other options, 95% intervals as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "hardneg"
    axes = list(sweep["axes"])
    fig, panels = plt.subplots(1, len(axes), figsize=(3.4 * len(axes), 3.0), squeeze=False)
    for ax, key in zip(panels[0], axes, strict=True):
        labels = [str(v) for v in sweep["axes"][key]]
        lines: dict[tuple, list] = {}
        for r in sweep["rows"]:
            others = tuple((k, r["values"][k]) for k in axes if k != key)
            lines.setdefault(others, []).append(r)
        for others, rows in lines.items():
            x = [labels.index(str(r["values"][key])) for r in rows]
            m = np.array([r[MAIN_METRIC]["mean"] for r in rows])
            lo, hi = (np.array([r[MAIN_METRIC]["ci95"][j] for r in rows]) for j in (0, 1))
            err = np.stack([m - lo, hi - m])
            name = ", ".join(f"{k}={v}" for k, v in others) or MAIN_METRIC
            ax.errorbar(x, m, yerr=err, marker="o", capsize=3, label=name)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel(key)
        ax.set_ylabel(MAIN_METRIC)
        if len(lines) > 1:
            ax.legend(fontsize=6)
    fig.suptitle(f"{dataset}: the sweep (95% bootstrap intervals)", fontsize=9)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def page_section(sweep: dict, dataset: str) -> str:
    """The sweep's HTML: the verdict, the table and the plot."""
    esc = html.escape
    keys = list(sweep["axes"])
    head = "".join(f"<th>{esc(k)}</th>" for k in keys)
    rows = []
    for r in sweep["rows"]:
        m = r[MAIN_METRIC]
        cells = "".join(f"<td>{esc(str(r['values'][k]))}</td>" for k in keys)
        rows.append(
            f"<tr><td>{esc(r['variant'])}</td>{cells}<td>{m['mean']:.4f} [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]"
            f"</td><td>{r['training_rows'] or '–'}</td></tr>"
        )
    return (
        "<h3>Sweep</h3>\n"
        f"<p id='sweep-verdict'>{esc(verdict(sweep))}.</p>\n"
        f"<table id='sweep'><thead><tr><th>variant</th>{head}<th>{esc(MAIN_METRIC)} [95% CI]</th>"
        "<th>training rows</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        f"<div id='sweep-plot'>{plot_svg(sweep, dataset)}</div>\n"
    )
