"""The one-class protocol over the classes of the 8x8 digits and of the 28x28 glyphs."""

import pytest

from anomaly_tutorial import protocols


@pytest.mark.parametrize("collection", ["digits", "glyphs"])
def test_protocol_gives_one_auroc_per_class_and_their_mean(collection):
    (row,) = protocols.one_class_protocol(collection, ["hog_ocsvm"], classes=(0, 1), quick=True)
    assert row["detector"] == "hog_ocsvm"
    assert 0.5 < row["0"] <= 1.0 and 0.5 < row["1"] <= 1.0
    assert row["mean"] == pytest.approx((row["0"] + row["1"]) / 2)
    assert row["fit_seconds"] >= 0


def test_dev_and_test_parts_give_different_figures():
    dev, test = (
        protocols.one_class_protocol("digits", ["hog_ocsvm"], classes=(5,), part=part)[0]["5"]
        for part in ("dev", "test")
    )
    assert dev != test


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"collection": "mnist"}, "collection must be one of digits, glyphs"),
        ({"detector_names": ["labeled_regressor"]}, "one-class detectors"),
        ({"classes": (3, 3)}, "distinct integers"),
        ({"classes": (10,)}, "distinct integers"),
    ],
)
def test_protocol_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        protocols.one_class_protocol(**arguments)
