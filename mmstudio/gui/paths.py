"""Where the studio's own files are: resources (style, icons, the offline demo).

An installed wheel carries them inside the package (``mmstudio/resources``, mapped from the
repository's top-level ``resources/`` by pyproject.toml); a source checkout, an editable install
and the PyInstaller build keep ``resources/`` beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def find_resources(package: Path = _PACKAGE) -> Path:
    """The resources folder of this installation: inside the package, else beside it."""
    for candidate in (package / "resources", package.parent / "resources"):
        if (candidate / "style.qss").is_file():
            return candidate
    raise FileNotFoundError(
        f"MMStudio's resources are missing: neither {package / 'resources'} "
        f"nor {package.parent / 'resources'} holds style.qss (a broken install?)"
    )


RESOURCES = find_resources()
DEMO = RESOURCES / "demo"
DEMO_DATASET = DEMO / "digits" / "manifest.csv"
DEMO_BUNDLE = DEMO / "bundles" / "digits"
CLIPART_DATASET = DEMO / "clipart" / "captions.csv"
CLIPART_BUNDLE = DEMO / "bundles" / "clipart"
ICON = RESOURCES / "icons" / "mmstudio.svg"


def start_folder(*candidates: str | None) -> str:
    """Where a file dialog opens: the first of ``candidates`` that exists (a file's own folder),
    else the home folder; never the working directory (the installation, for a launcher)."""
    import os

    for path in candidates:
        if path:
            folder = path if os.path.isdir(path) else os.path.dirname(path)
            if folder and os.path.isdir(folder):
                return folder
    return os.path.expanduser("~")
