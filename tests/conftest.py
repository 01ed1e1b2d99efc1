"""Shared test settings: a non-interactive plotting backend and quick mode for every test, and
the small brick folder the command-line tests train on."""

import os

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
