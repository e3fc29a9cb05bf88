"""PyInstaller's entry point: the same ``main`` as the ``mmstudio`` command."""
import sys

from mmstudio.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
