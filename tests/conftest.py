"""Suite-wide setup: offscreen Qt before any QApplication exists, and isolated settings.

Tests never touch the user's real settings or caches: QSettings and platformdirs locations
point into a per-session temporary folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_ISOLATED = Path(tempfile.mkdtemp(prefix="mmstudio-tests-"))
for var, sub in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_CACHE_HOME", "cache"),
    ("XDG_DATA_HOME", "data"),
    ("XDG_STATE_HOME", "state"),
):
    os.environ[var] = str(_ISOLATED / sub)
os.environ["MMSTUDIO_HOME"] = str(_ISOLATED / "home")
# the torch hub cache (pretrained weights) under the isolated cache folder too: a user's own
# weights must not change what the automatic settings choose in a test
os.environ.pop("TORCH_HOME", None)
os.environ.pop("MMSTUDIO_CACHE_BYTES", None)  # the settings tests set these; start from defaults
os.environ.pop("MMSTUDIO_WORKERS", None)

# tests/ on sys.path so helpers such as ``synth`` import by name from any test folder.
sys.path.insert(0, str(Path(__file__).parent))

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
