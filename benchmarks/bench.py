"""rnnkit against PyTorch on CPU: ``python benchmarks/bench.py [--quick] [--threads N] [--json PATH]``.

The same as ``rnnkit bench``; the code lives in :mod:`rnnkit.bench`.
"""

import sys

from rnnkit.bench import main

if __name__ == "__main__":
    sys.exit(main())
