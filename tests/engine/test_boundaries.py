"""The engine never imports Qt, and its facade resolves names lazily."""

from __future__ import annotations

import subprocess
import sys


def test_engine_imports_no_qt():
    code = (
        "import sys, mmstudio.engine as e; e.train; e.evaluate; e.load_bundle; e.query; "
        "e.export; e.catalog; import mmstudio.cli; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', "
        "'pyqtgraph', 'superqt', 'mmstudio.gui') or m.startswith('mmstudio.gui')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_facade_names_and_catalog():
    from mmstudio import engine

    assert callable(engine.train) and callable(engine.evaluate)
    cat = engine.catalog()
    assert set(cat["encoders"]["image"]) == {
        "cnn",
        "resnet18",
        "resnet34",
        "resnet50",
        "mobilenet_v3_small",
        "mobilenet_v3_large",
        "efficientnet_b0",
        "convnext_tiny",
    }
    assert set(cat["encoders"]["text"]) == {"ngram", "bag", "gru", "lstm", "transformer"}
    assert set(cat["encoders"]["audio"]) == {"mel_cnn", "mel_lstm", "wav2vec2_base", "hubert_base"}
    assert set(cat["fusions"]) == {"early", "concat", "weighted_sum", "product", "gated", "attention", "tensor", "late"}
    assert all(len(doc) > 10 for doc in cat["fusions"].values())


def test_parameter_count_is_instant_and_sane():
    from mmstudio import engine
    from mmstudio.config import ImageSpec, ModelSpec

    small = engine.parameter_count(ModelSpec(modalities=("image",)))
    big = engine.parameter_count(ModelSpec(modalities=("image",), image=ImageSpec("resnet18")))
    assert 10_000 < small < 1_000_000 and 11_000_000 < big < 12_000_000


def test_no_engine_module_shadows_a_public_name():
    """Importing ``mmstudio.engine.X`` sets the package attribute ``X`` to the module: a public
    name ``X`` would then become a module, depending on import order (a real bug we had)."""
    import os

    from mmstudio import engine

    folder = os.path.dirname(engine.__file__)
    modules = {f[:-3] for f in os.listdir(folder) if f.endswith(".py")} | {
        d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d))
    }
    assert not set(engine._NAMES) & modules
