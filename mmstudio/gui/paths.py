"""Where the studio's own files are: resources (style, icons, the offline demo), in a source
checkout and in a PyInstaller build alike (both keep ``resources/`` beside the package)."""
from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEMO = RESOURCES / "demo"
DEMO_DATASET = DEMO / "digits" / "manifest.csv"
DEMO_BUNDLE = DEMO / "bundles" / "digits"
CLIPART_DATASET = DEMO / "clipart" / "captions.csv"
CLIPART_BUNDLE = DEMO / "bundles" / "clipart"
ICON = RESOURCES / "icons" / "mmstudio.svg"
