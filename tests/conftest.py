"""Shared test settings: a non-interactive plotting backend and quick mode for every unit test,
the notebooks run exactly as a learner runs them, and the small brick folder the command-line
tests train on (and the model they score with)."""

import os

_TEST_KNOBS = (
    "ANOMALY_TUTORIAL_QUICK",
    "ANOMALY_TUTORIAL_THREADS",
    "MPLBACKEND",
    # set by anomaly_tutorial.runtime from ANOMALY_TUTORIAL_THREADS
    "TF_NUM_INTRAOP_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)
# What a learner's kernel gets: this environment as it came, without the test-speed knobs. The
# notebooks (nbval) run in it: no quick mode, TensorFlow's own 2 threads, no Agg backend.
LEARNER_ENV = {key: value for key, value in os.environ.items() if key not in _TEST_KNOBS}
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("ANOMALY_TUTORIAL_QUICK", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def parts(tmp_path_factory):
    """A small MVTec-layout folder cut from the brick data, as a user would have."""
    from anomaly_tutorial import datasets

    folder = tmp_path_factory.mktemp("data") / "parts"
    small = datasets.load_textures("brick", "dev").subset(n_train=40, n_test_per_type=3)
    datasets.write_folder(small, folder)
    return folder


@pytest.fixture(scope="session")
def hog_model(parts, tmp_path_factory):
    """A hog_ocsvm model trained on ``parts`` with the command line, as a user would."""
    from anomaly_tutorial import cli

    model = tmp_path_factory.mktemp("models") / "hog"
    words = ["train", "--detector", "hog_ocsvm", "--data", parts, "--out", model]
    assert cli.main([str(word) for word in words]) == 0
    return model


def _start_learner_kernel(start):
    def start_new_kernel(*args, **kwargs):
        kwargs.setdefault("env", dict(LEARNER_ENV))
        return start(*args, **kwargs)

    return start_new_kernel


try:  # nbval starts one kernel per notebook through this function
    import nbval.kernel
except ImportError:  # pragma: no cover  (nbval is a dev dependency)
    pass
else:
    if not getattr(nbval.kernel.start_new_kernel, "learner", False):
        nbval.kernel.start_new_kernel = _start_learner_kernel(nbval.kernel.start_new_kernel)
        nbval.kernel.start_new_kernel.learner = True


# -- Two workers that end together ------------------------------------------------------------
# `make test` runs `-n 2 --dist loadfile`: each file (and each notebook) runs whole on one
# worker, handed out in collection order as workers free up. Longest first (seconds on one
# worker of the 2-core reference machine, from --durations) leaves only short files for the
# end, so the two workers finish within seconds of each other; files not listed (a few seconds
# each) follow in their usual order. Tests inside a file keep their order.
SLOWEST_FILES = {
    "notebooks/03_convolutional_autoencoder.ipynb": 85,
    "tests/test_snippets.py": 56,
    "notebooks/04_deep_svdd.ipynb": 55,
    "notebooks/05_comparison_and_your_own_images.ipynb": 55,
    "notebooks/02_labeled_keras_regressor.ipynb": 45,
    "tests/test_labeled_regressor.py": 44,
    "tests/test_cli.py": 34,
    "notebooks/01_hog_oneclass_svm.ipynb": 31,
    "tests/test_autoencoder.py": 28,
    "notebooks/00_introduction.ipynb": 23,
    "tests/test_textures.py": 23,
    "tests/test_trained.py": 20,
    "tests/test_detector_contract.py": 17,
    "tests/test_deep_svdd.py": 12,
    "tests/test_parts.py": 9,
    "tests/test_protocols.py": 8,
    "tests/test_streaming.py": 8,
    "tests/test_glyphs.py": 6,
    "tests/test_persistence.py": 6,
    "tests/test_hostile_outputs.py": 6,
    "tests/test_benchmark.py": 6,
    "tests/test_bad_inputs.py": 5,
    "tests/test_progress.py": 5,
    "tests/test_tiling.py": 4,
    "tests/test_model_folders.py": 4,
}


def pytest_configure(config):
    # xdist would otherwise reorder the files by their number of tests, not their duration.
    if getattr(config.option, "loadscopereorder", False):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    def seconds(item):
        return SLOWEST_FILES.get(item.nodeid.split("::", 1)[0], 0)

    items.sort(key=seconds, reverse=True)  # stable: same-file tests keep their order
