"""The Model panel and Settings in both themes, for issue 15's Model/Settings points: run under
a real X server (xvfb-run).

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_model_view.py [OUTDIR]

Writes OUTDIR/<view>-light.png and -dark.png (default /tmp/mmstudio-model-view/): model
(the shared demo set, the suggested run), model-generate (task generate: text is the output),
model-preset (after Quick (CPU)), diagram-* (the fusion diagram alone: classify, late, generate),
settings-general and settings-models. Each view is shot in light, then switched to dark in place;
the theme preview from the Settings dialog is timed on the full window.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from screenshots import open_and_wait, start_app, wait  # scripts/ is on sys.path when run as a script
from screenshots_all import DEMO, shoot


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else Path(tempfile.gettempdir()) / "mmstudio-model-view"
    app = start_app(out)
    from mmstudio.gui.main_window import MainWindow
    from mmstudio.gui.settings import THEMES
    from mmstudio.gui.settings_dialog import SettingsDialog

    window = MainWindow()
    window.show()
    wait(app, 1.0)
    open_and_wait(app, window, str(DEMO), 60)
    window.show_panel(1)
    model = window.model_panel
    wait(app, 120, until=model.start_button.isEnabled)
    wait(app, 2.0)
    shoot(app, window, out, "model")
    shoot(app, model.diagram, out, "diagram-classify")
    model.fusion.setCurrentText("late")
    wait(app, 1.0)
    shoot(app, model.diagram, out, "diagram-late")
    model.task.setCurrentText("generate")
    wait(app, 3.0)
    shoot(app, window, out, "model-generate")
    shoot(app, model.diagram, out, "diagram-generate")
    model.task.setCurrentText("classify")
    model.quick_button.click()
    wait(app, 3.0)
    shoot(app, window, out, "model-preset")

    dialog = SettingsDialog(window)
    dialog.show()
    wait(app, 0.8)
    shoot(app, dialog, out, "settings-general", before=lambda t: dialog.theme.setCurrentIndex(THEMES.index(t)))
    dialog.tabs.setCurrentIndex(1)
    wait(app, 0.5)
    shoot(app, dialog, out, "settings-models", before=lambda t: dialog.theme.setCurrentIndex(THEMES.index(t)))
    previews = []
    for name in ("dark", "light", "dark", "light"):  # a theme chosen in the dialog, on the full window
        t0 = time.perf_counter()
        dialog.theme.setCurrentIndex(THEMES.index(name))
        app.processEvents()
        previews.append(time.perf_counter() - t0)
    print(f"theme previews from the dialog: slowest {max(previews):.3f} s (must stay under 0.5 s)")
    dialog.reject()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
