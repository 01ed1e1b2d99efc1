"""Run-time settings shared by every notebook: quiet logs, fixed threads, seeds, quick mode.

Importing ``anomaly_tutorial`` applies them, so import it *before* ``keras`` or ``tensorflow``,
which read their log level and thread counts once, when first imported (notebook 00).
"""

import datetime
import logging
import os
import platform
import random
import sys

import numpy as np

#: Threads for TensorFlow and BLAS. Fixed (not "all cores") so that a run is identical on every
#: machine: float sums depend on how work is split between threads.
THREADS = int(os.environ.get("ANOMALY_TUTORIAL_THREADS", "2"))


def flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to anything but "", 0, false or no."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


#: Quick mode (``ANOMALY_TUTORIAL_QUICK=1``, set for the unit tests by ``tests/conftest.py``):
#: code that asks for it (``make_detector(name, quick=runtime.QUICK)``) gets small, fast
#: settings. The notebooks never ask: there is one course, the one the text describes.
QUICK = flag("ANOMALY_TUTORIAL_QUICK")

_ENVIRONMENT = {
    # 3 hides TensorFlow's C++ log lines below FATAL: TF 2.21 prints harmless ERROR-level lines
    # on every fit ("NodeDef mentions attribute use_unbounded_threadpool ...").
    "TF_CPP_MIN_LOG_LEVEL": "3",
    # oneDNN's fused kernels change float round-off with the machine's CPU features; turning
    # them off keeps results identical across laptops (and silences TF's oneDNN notice).
    "TF_ENABLE_ONEDNN_OPTS": "0",
    # TensorFlow's matrix products still call oneDNN's sgemm, whose kernels follow the CPU: the
    # same training gave test AUROC 0.588 with AVX-512 and 0.582 with AVX2. AVX2 (every x86-64
    # laptop since about 2015) gives the same numbers on all of them.
    "DNNL_MAX_CPU_ISA": "AVX2",
    "TF_NUM_INTRAOP_THREADS": str(THREADS),
    "TF_NUM_INTEROP_THREADS": "1",
    # Deterministic kernels: same seed, same numbers.
    "TF_DETERMINISTIC_OPS": "1",
    # TensorFlow's pooling allocator: without it (and oneDNN), training fed by a PyDataset took
    # fresh pages from the system at every step, 1.5x the CPU time. Numbers are unchanged.
    "TF_CPU_ALLOCATOR_USE_BFC": "true",
    "OMP_NUM_THREADS": str(THREADS),
    "OPENBLAS_NUM_THREADS": str(THREADS),
    "MKL_NUM_THREADS": str(THREADS),
    "KERAS_BACKEND": "tensorflow",
}


def _errors_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


def configure() -> None:
    """Apply the environment above without overriding anything the user set explicitly."""
    for key, value in _ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    # Fitting many small models makes TensorFlow warn about "retracing", as expected here. A
    # filter, not a level: TensorFlow resets the logger's level when it first logs in Jupyter.
    logger = logging.getLogger("tensorflow")
    if _errors_only not in logger.filters:
        logger.addFilter(_errors_only)


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and Keras (and its backend) in one call. Used in every Setup cell."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (the legacy global RNG is what learners call)
    import keras  # imported here so that configure() has run first

    keras.utils.set_random_seed(seed)


def machine_description() -> str:
    """One line on where figures were measured: CPU count, OS, Python, Keras, date."""
    import keras  # imported here so that configure() has run first

    return (
        f"{os.cpu_count()} CPU cores ({platform.machine()}, {platform.system()}), "
        f"{THREADS} threads, Python {sys.version.split()[0]}, Keras {keras.__version__} "
        f"({keras.backend.backend()}), {datetime.date.today().isoformat()}"
    )


configure()
