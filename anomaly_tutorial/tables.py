"""Result tables as Markdown: rendered in notebooks, plain text elsewhere (notebooks 01 to 05).

A table is a list of dicts, one dict per row, e.g. ``{"dataset": "brick", "image_auroc": 0.91}``
as :func:`anomaly_tutorial.metrics.evaluate` returns it plus a name.
"""

import math
import numbers
from collections.abc import Mapping

#: Shown for a missing value (absent key, None or NaN), so gaps are visible but quiet.
MISSING = "–"
#: Units for wall-clock columns, by the end of the column name ("fit_seconds", "fit seconds",
#: "images_per_second"). Timings change from run to run; with a unit the reader sees what they
#: are, and ``make test-full`` can blank them (tests/nbval_sanitize.cfg) while AUROCs are compared.
UNITS = (("per_second", " /s"), ("seconds", " s"))


def _unit(column) -> str:
    name = str(column)
    return next((unit for suffix, unit in UNITS if name.endswith(suffix)), "")


def _format(value, digits: int, unit: str = "") -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):  # numpy ints included
        return f"{value}{unit}"
    if isinstance(value, numbers.Real):
        return MISSING if math.isnan(value) else f"{float(value):.{digits}f}{unit}"
    # A "|" would end the cell early; line breaks would end the row.
    return str(value).replace("|", "\\|").replace("\n", " ")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def markdown_table(rows, columns=None, digits: int = 3) -> str:
    """A Markdown table of ``rows`` (a list of dicts).

    ``columns`` picks and orders the columns (default: every key, in first-seen order). Floats
    get ``digits`` decimals; absent keys, None and NaN show as "–". Numeric columns are
    right-aligned; timing columns (:data:`UNITS`) carry their unit.
    """
    if isinstance(rows, Mapping) or not all(isinstance(row, Mapping) for row in rows):
        raise ValueError("rows must be a list of dicts, one dict per table row.")
    rows = list(rows)
    if not isinstance(digits, int) or isinstance(digits, bool) or digits < 0:
        raise ValueError(f"digits must be a non-negative int; got {digits!r}.")
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    columns = list(columns)
    if not columns:
        raise ValueError("no columns: rows is empty and columns was not given.")
    header = "| " + " | ".join(_format(column, digits) for column in columns) + " |"
    alignments = []
    for column in columns:
        present = [row[column] for row in rows if row.get(column) is not None]
        numeric = bool(present) and all(_is_number(value) for value in present)
        alignments.append("---:" if numeric else ":---")
    lines = [header, "| " + " | ".join(alignments) + " |"]
    for row in rows:
        cells = (_format(row.get(column), digits, _unit(column)) for column in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def show_table(rows, columns=None, digits: int = 3) -> None:
    """Show :func:`markdown_table` as a rendered table in IPython/Jupyter, else print it."""
    text = markdown_table(rows, columns=columns, digits=digits)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # plain Python without IPython
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Markdown(text))
    else:
        print(text)
