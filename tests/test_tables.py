"""Markdown result tables (notebooks 01-05)."""

import math

import numpy as np
import pytest

from anomaly_tutorial import tables


def test_markdown_table_formats_floats_and_marks_missing_values():
    rows = [
        {"dataset": "brick", "auroc": 0.91234, "n": 3},
        {"dataset": "grass", "auroc": math.nan},
        {"dataset": "a|b", "auroc": np.float32(0.5), "n": None},
    ]
    assert tables.markdown_table(rows, digits=2) == "\n".join(
        [
            "| dataset | auroc | n |",
            "| :--- | ---: | ---: |",
            "| brick | 0.91 | 3 |",
            "| grass | – | – |",
            "| a\\|b | 0.50 | – |",
        ]
    )


def test_markdown_table_columns_pick_and_order():
    rows = [{"a": 1, "b": 2.0, "c": "x"}]
    assert tables.markdown_table(rows, columns=["c", "a"]).splitlines()[2] == "| x | 1 |"
    assert tables.markdown_table([], columns=["a"]) == "| a |\n| :--- |"


def test_markdown_table_keeps_integers_and_numpy_ints_exact():
    line = tables.markdown_table([{"count": np.int64(12), "share": 0.25}]).splitlines()[2]
    assert line == "| 12 | 0.250 |"


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        ({"a": 1}, {}, "rows must be a list of dicts"),
        ([1, 2], {}, "rows must be a list of dicts"),
        ([], {}, "no columns"),
        ([{"a": 1.0}], {"digits": -1}, "digits must be a non-negative int"),
    ],
)
def test_markdown_table_rejects_bad_input(rows, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tables.markdown_table(rows, **kwargs)


def test_show_table_prints_outside_ipython(capsys):
    assert tables.show_table([{"a": 0.5}]) is None
    assert capsys.readouterr().out == "| a |\n| ---: |\n| 0.500 |\n"


def test_show_table_displays_markdown_inside_ipython(monkeypatch):
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", shown.append)
    tables.show_table([{"a": 1}])
    assert isinstance(shown[0], IPython.display.Markdown)
    assert shown[0].data == "| a |\n| ---: |\n| 1 |"


def test_timing_columns_carry_their_unit_and_other_numbers_do_not():
    row = {"image_auroc": 0.91234, "fit_seconds": 12.3456, "images_per_second": 800.0, "n": 3}
    text = tables.markdown_table([row], digits=2)
    assert text.splitlines()[-1] == "| 0.91 | 12.35 s | 800.00 /s | 3 |"
