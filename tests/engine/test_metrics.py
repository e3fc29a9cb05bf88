"""Classification metrics against values computed by hand (and scikit-learn's, when installed)."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from mmstudio.engine.metrics import classification_metrics

NAMES = ["a", "b", "c", "d", "e"]
TRUE = [0, 0, 1, 1, 2]  # a a b b c
PRED = [0, 1, 1, 1, 3]  # a b b b d: "d" is only predicted, "e" neither


def _metrics():
    logits = torch.nn.functional.one_hot(torch.tensor(PRED), len(NAMES)).float()
    return classification_metrics(logits, torch.tensor(TRUE), NAMES)


def test_macro_f1_averages_over_true_and_predicted_labels():
    m = _metrics()
    # F1: a = 2*(1*0.5)/(1.5) = 2/3; b = 2*(2/3*1)/(5/3) = 0.8; c = 0; d = 0 (predicted, never
    # true); e takes no part. Mean over {a, b, c, d}.
    assert m["per_class"]["a"]["f1"] == pytest.approx(2 / 3, abs=1e-6)
    assert m["per_class"]["b"]["f1"] == pytest.approx(0.8, abs=1e-6)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 4, abs=1e-6)  # 0.366667, not 0.488889
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["confusion"][2][3] == 1 and m["per_class"]["d"]["support"] == 0


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="scikit-learn not installed")
def test_macro_f1_is_scikit_learns():
    import warnings

    from sklearn.metrics import f1_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about the zero division it then scores as 0
        assert _metrics()["macro_f1"] == pytest.approx(f1_score(TRUE, PRED, average="macro"), abs=1e-6)
