"""``python -m anomaly_tutorial`` is the ``anomaly-tutorial`` command."""

import sys

from anomaly_tutorial.cli import main

sys.exit(main())
