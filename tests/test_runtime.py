import logging
import os
import subprocess
import sys

import numpy as np

from anomaly_tutorial import runtime


def test_tensorflow_settings_are_applied_on_import():
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == str(runtime.THREADS)
    assert os.environ["TF_DETERMINISTIC_OPS"] == "1"
    # oneDNN's sgemm (TensorFlow's matrix products) at one instruction set on every x86-64 CPU
    assert os.environ["DNNL_MAX_CPU_ISA"] == "AVX2"


def test_user_settings_win_over_defaults():
    code = "import os, anomaly_tutorial; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    output = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "0"


def test_quick_flag_follows_the_environment_variable():
    code = "from anomaly_tutorial import runtime; print(runtime.QUICK)"
    for value, expected in [("1", "True"), ("0", "False"), ("", "False"), ("yes", "True")]:
        environment = dict(os.environ, ANOMALY_TUTORIAL_QUICK=value)
        output = subprocess.run(
            [sys.executable, "-c", code], env=environment, capture_output=True, text=True
        )
        assert output.stdout.strip() == expected, value


def test_set_seed_makes_numpy_and_keras_repeatable():
    import keras

    def draw():
        legacy = np.random.rand(3)  # noqa: NPY002  (set_seed must cover the legacy global RNG)
        return legacy, keras.ops.convert_to_numpy(keras.random.uniform((3,)))

    runtime.set_seed(3)
    first = draw()
    runtime.set_seed(3)
    second = draw()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_tensorflow_warnings_are_dropped_but_errors_are_kept(caplog):
    runtime.configure()
    runtime.configure()  # idempotent: one filter, not two
    logger = logging.getLogger("tensorflow")
    assert logger.filters.count(runtime._errors_only) == 1
    logger.setLevel(logging.WARNING)  # what TensorFlow does when it first logs in Jupyter
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning("5 out of the last 5 calls triggered tf.function retracing")
        logger.error("a real problem")
    assert [record.getMessage() for record in caplog.records] == ["a real problem"]
