"""anomaly_tutorial: the small package behind the image anomaly-detection course.

Importing it first applies the run-time settings in :mod:`anomaly_tutorial.runtime` (quiet,
deterministic TensorFlow with fixed thread counts), so import it before ``keras``.
"""

from anomaly_tutorial import runtime  # noqa: F401  (must run before keras is imported)

__version__ = "0.1.0"
