"""Screenshots of the welcome page, the Settings dialog and the dark theme, in a real window:

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_welcome.py [OUTDIR]

Writes OUTDIR/screenshot-welcome.png, screenshot-settings.png and screenshot-welcome-dark.png
(OUTDIR defaults to docs/). Settings live in a temporary folder: the user's are untouched.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
_TMP = tempfile.mkdtemp(prefix="mmstudio-shots-")
for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
    os.environ[var] = os.path.join(_TMP, var.lower())
os.environ["MMSTUDIO_HOME"] = os.path.join(_TMP, "home")

from screenshots import wait


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import QSettings

    from mmstudio.gui.app import DEMO_DATASET, create_application
    from mmstudio.gui.main_window import MainWindow
    from mmstudio.gui.settings import Settings, apply_settings
    from mmstudio.gui.settings_dialog import SettingsDialog

    app = create_application()
    recent = [str(Path.home() / "projects" / n) for n in ("spoken-digits.mmstudio", "birdsong.mmstudio")]
    window = MainWindow()
    window.projects.recent = lambda: recent  # a lived-in look; nothing is written
    window.show_welcome()
    window.show()
    window.data_panel.open_path(str(DEMO_DATASET))
    wait(app, 3.0)
    window.grab().save(str(out / "screenshot-welcome.png"))
    print(out / "screenshot-welcome.png")

    dialog = SettingsDialog(window)
    dialog.show()
    wait(app, 1.0)
    dialog.grab().save(str(out / "screenshot-settings.png"))
    print(out / "screenshot-settings.png")
    dialog.close()

    apply_settings(Settings(theme="dark"), app)
    wait(app, 1.0)
    window.grab().save(str(out / "screenshot-welcome-dark.png"))
    print(out / "screenshot-welcome-dark.png")
    QSettings().clear()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
