"""Screenshots of the weights manager and of a frozen-feature run: run under a real X server.

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_transfer.py OUTDIR

Puts weight files made here (torchvision architectures with random numbers, under torchvision's
file names) in a temporary TORCH_HOME; saves OUTDIR/weights.png (Settings ▸ Models, after
Download was pressed on a machine that cannot reach download.pytorch.org), then trains the digits
demo with a frozen pretrained MobileNetV3-Small image encoder and saves OUTDIR/train-frozen.png
(curves) and train-frozen-log.png (the log: features computed once, then the epochs).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from screenshots import open_and_wait, wait  # scripts/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo" / "digits" / "manifest.csv"


def make_weights(*archs: str) -> None:
    import torch
    import torchvision

    from mmstudio.engine.pretrained import default_for

    for arch in archs:
        info = default_for(arch)
        os.makedirs(os.path.dirname(info.path()), exist_ok=True)
        torch.save(getattr(torchvision.models, arch)().state_dict(), info.path())


def weights_shot(app, window, out: Path) -> None:
    from mmstudio.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window)
    dialog.tabs.setCurrentIndex(1)
    dialog.resize(1180, 560)
    dialog.show()
    manager = dialog.models
    manager.select("resnet50.imagenet1k_v2")
    manager.download_button.click()
    wait(app, 15, until=lambda: "could not" in manager.status.text())
    wait(app, 0.5)
    dialog.grab().save(str(out / "weights.png"))
    dialog.reject()


def frozen_run_shot(app, window, out: Path) -> None:
    open_and_wait(app, window, str(DEMO))
    window.show_panel(1)
    model = window.model_panel
    wait(app, 60, until=model.start_button.isEnabled)
    enc = model.encoders
    enc.include["audio"].setChecked(False)
    enc.encoder["image"].setCurrentText("mobilenet_v3_small")
    enc.pretrained.use.setChecked(True)
    model.epochs.setValue(8)
    model.device.setCurrentText("cpu")
    wait(app, 1.5)
    window.grab().save(str(out / "model-pretrained.png"))
    train = window.train_panel
    model.start_button.click()
    wait(app, 900, until=lambda: not train.running and train.epochs.size > 0)
    wait(app, 1.0)
    window.grab().save(str(out / "train-frozen.png"))
    train.tabs.setCurrentWidget(train.log)
    wait(app, 0.5)
    train.log.verticalScrollBar().setValue(0)  # the start: features computed once, then the epochs
    wait(app, 0.3)
    window.grab().save(str(out / "train-frozen-log.png"))


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    work = tempfile.mkdtemp(prefix="mmstudio-shots-transfer-")
    os.environ.setdefault("MMSTUDIO_HOME", work)
    os.environ["TORCH_HOME"] = os.path.join(work, "torch")
    sys.path.insert(0, str(ROOT))
    from mmstudio.gui.app import create_application
    from mmstudio.gui.main_window import MainWindow

    make_weights("mobilenet_v3_small", "resnet18")
    app = create_application()
    window = MainWindow()
    window.resize(1440, 900)
    window.show()
    wait(app, 1.0)
    weights_shot(app, window, out)
    frozen_run_shot(app, window, out)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
