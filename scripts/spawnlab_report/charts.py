"""Charts as inline SVG (matplotlib, Agg-free SVG backend): bars of numbers
by backend, a coloured grid of outcomes or values, and lines of a number
against another (spawn latency against parent size)."""
import io

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

OUTCOME_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "error": "#6a1b9a",
                   "skip": "#9e9e9e", "absent": "#ffffff",
                   "xfail": "#ef6c00", "xpass": "#1565c0"}


def _svg(fig, salt):
    # Text stays text (small, searchable); the salt keeps the clip-path ids of
    # several inline SVGs in one page apart.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE to inline it


def bars(salt, title, backends, series, unit="", colours=None):
    """Grouped bars: one group per backend, one bar per series (coloured by
    COLOURS[series name] where given)."""
    n = max(len(series), 1)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(backends) + 1), 3.4))
    for i, (name, vals) in enumerate(series.items()):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(backends))]
        ys = [v if v is not None else 0 for v in vals]
        rects = ax.bar(xs, ys, width, label=name, color=(colours or {}).get(name))
        for r, v in zip(rects, vals):
            label = "n/m" if v is None else (f"{v:.3g}" if isinstance(v, float) and not v.is_integer() else f"{v:.0f}")
            ax.annotate(label, (r.get_x() + r.get_width() / 2, r.get_height()),
                        ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(backends)))
    ax.set_xticklabels(backends)
    ax.set_ylabel(unit)
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    if len(series) > 1:
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    return _svg(fig, salt)


def _dark(colour):
    r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 140


def grid(salt, title, backends, ids, rows, palette=None):
    """Coloured grid: cases down, backends across; a cell's colour is its
    unit's outcome, its text the outcome or the value the chart names.  With
    a PALETTE (value text -> colour) a passing unit is coloured by its value,
    so the grid shows what happened; other outcomes keep their colour."""
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(backends) + 3), 0.4 * len(ids) + 1.2))
    for i, row in enumerate(rows):
        for j, (text, state, _) in enumerate(row):
            colour = OUTCOME_COLOURS.get(state, "#ffffff")
            if palette and state == "pass" and text in palette:
                colour = palette[text]
            ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor=colour, edgecolor="white"))
            ax.text(j + 0.5, i + 0.5, text or "not run", ha="center", va="center", fontsize=7,
                    color="white" if _dark(colour) else "black")
    ax.set_xlim(0, len(backends))
    ax.set_ylim(len(ids), 0)
    ax.set_xticks([j + 0.5 for j in range(len(backends))])
    ax.set_xticklabels(backends)
    ax.xaxis.tick_top()
    ax.set_yticks([i + 0.5 for i in range(len(ids))])
    ax.set_yticklabels(ids, fontsize=7)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_title(title, fontsize=10, pad=24)
    return _svg(fig, salt)


def lines(salt, title, series, xlabel, ylabel, xlog=2, ylog=False):
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, pts in series.items():
        style = "--" if name.startswith("floor") else "-"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", markersize=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if all(p[0] > 0 for pts in series.values() for p in pts):
        ax.set_xscale("log", base=2 if xlog == 2 else 10)
    if ylog and all(p[1] > 0 for pts in series.values() for p in pts):
        ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    return _svg(fig, salt)
