"""The one-class protocol over the classes of the 8x8 digits and of the 28x28 glyphs."""

import pytest

from anomaly_tutorial import datasets, protocols, trained


@pytest.mark.parametrize("collection", ["digits", "glyphs"])
def test_protocol_gives_one_auroc_per_class_and_their_mean(collection):
    (row,) = protocols.one_class_protocol(collection, ["hog_ocsvm"], classes=(0, 1), quick=True)
    assert row["detector"] == "hog_ocsvm"
    assert 0.5 < row["0"] <= 1.0 and 0.5 < row["1"] <= 1.0
    assert row["mean"] == pytest.approx((row["0"] + row["1"]) / 2)


@pytest.mark.parametrize("load", [datasets.load_digits_one_class, datasets.load_glyphs_one_class])
def test_the_test_part_scores_images_the_dev_part_never_showed(load):
    # What makes "chosen on dev, reported on test" honest: no test image was seen in dev.
    dev, test = (load(5, part=part) for part in ("dev", "test"))
    seen = {image.tobytes() for image in dev.test_images}
    assert not any(image.tobytes() in seen for image in test.test_images)


def test_protocol_can_shrink_each_task_for_quick_runs(monkeypatch):
    trained, tested = [], []
    make, score = protocols.make_detector, protocols.roc_auc_score

    def recording_make(*args, **kwargs):
        detector = make(*args, **kwargs)
        fit = detector.fit
        detector.fit = lambda images: (trained.append(len(images)), fit(images))[1]
        return detector

    def recording_score(labels, scores):
        tested.append((len(labels), int(sum(labels == 0))))
        return score(labels, scores)

    monkeypatch.setattr(protocols, "make_detector", recording_make)
    monkeypatch.setattr(protocols, "roc_auc_score", recording_score)
    (row,) = protocols.one_class_protocol(
        "digits", ["hog_ocsvm"], classes=(4,), n_train=30, n_test_per_type=5
    )
    assert trained == [30]
    assert tested == [(50, 5)]  # 5 images of the normal digit and 5 of each of the nine others
    assert 0.5 < row["4"] <= 1.0


def test_protocol_trains_with_the_given_fit_and_reports_its_seconds():
    calls = []

    def fit(detector, images):
        calls.append((type(detector).__name__, len(images)))
        return detector.fit(images)

    (plain,) = protocols.one_class_protocol("digits", ["hog_ocsvm"], classes=(2, 7), quick=True)
    (given,) = protocols.one_class_protocol(
        "digits", ["hog_ocsvm"], classes=(2, 7), quick=True, fit=fit, fit_seconds=lambda d: 42.0
    )
    assert [name for name, _ in calls] == ["HOGOneClassSVM"] * 2 and all(n > 0 for _, n in calls)
    assert given["fit_seconds"] == 42.0
    assert {k: v for k, v in given.items() if k != "fit_seconds"} == {
        k: v for k, v in plain.items() if k != "fit_seconds"
    }


def test_protocol_gives_the_autoencoder_the_preset_its_normal_images_choose():
    from anomaly_tutorial.detectors import conv_autoencoder

    chosen = []

    def fit(detector, images):
        chosen.append({name: detector.get_params()[name] for name in ("latent_dim", "reduction")})
        return detector.fit(images)

    protocols.one_class_protocol("digits", ["conv_autoencoder"], (0,), quick=True, fit=fit)
    assert chosen == [{"latent_dim": "sqrt", "reduction": "combined"}]  # aligned digits: object
    assert conv_autoencoder.PRESETS["object"]["latent_dim"] == "sqrt"


def test_protocol_scores_what_a_store_loads(tmp_path):
    arguments = {"collection": "digits", "detector_names": ["deep_svdd"], "classes": (3,)}
    writer = trained.Store("xx", folder=tmp_path, save_to=tmp_path)
    (first,) = protocols.one_class_protocol(
        **arguments, quick=True, fit=writer.fit, fit_seconds=writer.fit_seconds
    )
    reader = trained.Store("xx", folder=tmp_path)
    (again,) = protocols.one_class_protocol(
        **arguments, quick=True, fit=reader.fit, fit_seconds=reader.fit_seconds
    )
    assert again == first  # the same AUROC from the loaded network, and the shipped fit time


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
