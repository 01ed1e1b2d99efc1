"""Data-parallel training with Keras's own distribution API, on 2 virtual CPU devices (README).

Run by ``make test-backends`` only (marker ``multi_device``), as

    XLA_FLAGS=--xla_force_host_platform_device_count=2 KERAS_BACKEND=jax pytest -m multi_device

A GPU machine runs the same code with its real devices.
"""

import keras
import numpy as np
import pytest

from anomaly_tutorial.detectors import make_detector

pytestmark = pytest.mark.multi_device


@pytest.fixture
def two_devices():
    if keras.backend.backend() != "jax":
        pytest.fail("run with KERAS_BACKEND=jax (make test-backends does)")
    devices = keras.distribution.list_devices("cpu")
    if len(devices) < 2:
        pytest.fail("needs XLA_FLAGS=--xla_force_host_platform_device_count=2")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices[:2]))
    yield devices[:2]
    keras.distribution.set_distribution(None)


def test_an_autoencoder_trains_data_parallel_on_two_devices_and_scores(two_devices):
    rng = np.random.default_rng(0)
    ramp = np.linspace(0.2, 0.6, 16, dtype=np.float32)
    normal = np.clip(ramp + 0.03 * rng.standard_normal((41, 16, 16)), 0, 1).astype(np.float32)
    anomalous = normal[:5].copy()
    anomalous[:, 4:10, 4:10] = 1.0
    # 41 images: the last batch of each epoch is cut to a multiple of the 2 devices.
    detector = make_detector("conv_autoencoder", quick=True, epochs=6, patience=6, batch_size=8)
    detector.fit(normal)
    weights = detector.model_.weights[0].value
    assert len(weights.sharding.device_set) == 2  # the variables live on both devices
    losses = detector.history_["loss"]
    assert len(losses) == 6 and losses[-1] < losses[0]
    normal_scores, anomalous_scores = (detector.score_samples(x) for x in (normal, anomalous))
    assert np.all(np.isfinite(normal_scores))
    assert np.median(anomalous_scores) < np.median(normal_scores)


def test_a_batch_size_that_the_devices_do_not_divide_is_a_clear_error(two_devices):
    with pytest.raises(ValueError, match="batch_size=7 must be a multiple of the 2 devices"):
        make_detector("conv_autoencoder", quick=True, batch_size=7).fit(np.zeros((20, 8, 8)))


def test_the_readme_block_runs_as_written(two_devices, capsys):
    from test_snippets import README, readme_snippets

    [block] = [snippet for snippet in readme_snippets(README) if "DataParallel" in snippet.source]
    assert block.skip_reason and "make test-backends" in block.skip_reason
    # As written, but with the detector's quick setting (fewer epochs) for the test's time.
    source = block.source.replace(
        'make_detector("conv_autoencoder", ', 'make_detector("conv_autoencoder", quick=True, '
    )
    assert source != block.source
    exec(compile(source, block.where, "exec"), {})
    assert "trained on 2 devices" in capsys.readouterr().out
