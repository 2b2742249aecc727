"""The drawing plumbing every figure of this stage shares: sizes, colours, a fresh Agg figure, an atomic PNG write.

Figures are built with matplotlib's object-oriented API on the Agg canvas and never through pyplot: pyplot keeps
global state that is not thread-safe, and Prefect runs tasks in threads. A Figure made this way is not registered
anywhere, so it needs no plt.close; it is freed with its last reference. Each PNG is written atomically
(tasks.core.atomic), so a reader never sees half a file.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tasks.core import atomic

DPI = 110  # sharp on a laptop screen, small enough for a Prefect artifact
PANEL = (5.5, 4.0)  # inches, one panel; 605 x 440 pixels at DPI
WIDE = (11.0, 4.4)  # inches, two panels side by side or one long time series
TRAIN_COLOR, VAL_COLOR, BEST_COLOR = "tab:blue", "tab:orange", "tab:green"
TRUTH_COLOR, MODEL_COLOR, BASELINE_COLOR = "black", "tab:blue", "tab:orange"
SHOWN_UNIT = re.compile(r"(\([^()]*\)|\[[^\[\]]*\])\s*$")  # a name that ends in "(degC)" or "[kW]" shows its unit


def new_figure(size: tuple[float, float]) -> Figure:
    """A constrained-layout Figure of `size` inches on its own Agg canvas."""
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def axis_label(quantity: str, unit: str) -> str:
    """A y axis's label, "quantity (unit)", unless the quantity already shows a unit: a column named "T (degC)"
    (Jena's) or "power [kW]", or one holding the unit's own text, is its own label; so is one without a unit."""
    if not unit or unit in quantity or SHOWN_UNIT.search(quantity):
        return quantity
    return f"{quantity} ({unit})"


def date_axis(ax) -> None:
    """Dates on the x axis, ticked and labelled as matplotlib's concise formatter does (no repeated years)."""
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def save_png(fig: Figure, out: Path) -> Path:
    """Render `fig` to PNG bytes in memory, then write them atomically to `out`."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return atomic.write_bytes(Path(out), buffer.getvalue())
