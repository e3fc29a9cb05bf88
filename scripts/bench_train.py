"""Training speed beside the bare-loop limit: ``mmstudio.bench`` from a source checkout
(the same as ``mmstudio-cli bench``; ``--help`` lists the options)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mmstudio.bench import main

if __name__ == "__main__":
    sys.exit(main())
