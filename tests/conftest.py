"""Shared test settings: a non-interactive plotting backend and quick mode for every test."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("ANOMALY_TUTORIAL_QUICK", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
