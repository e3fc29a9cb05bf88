"""Text scores against known values: sacrebleu's documented corpus example, hand-computed edit
distances and CIDEr-D's fixed points."""

from __future__ import annotations

import math

import pytest

from mmstudio.engine.textmetrics import bleu, cider_d, error_rate, exact_match, normalise, text_scores

# sacrebleu's README example, in its 13a tokenisation: BLEU = 48.53 (82.4/50.0/45.5/37.5, BP 0.943)
SYSTEM = ["The dog bit the man .", "It wasn't surprising .", "The man had just bitten him ."]
REFS_A = ["The dog bit the man .", "It was not unexpected .", "The man bit him first ."]
REFS_B = ["The dog had bit the man .", "No one was surprised .", "The man had bitten the dog ."]


def test_bleu_matches_sacrebleu_documented_example():
    refs = [list(pair) for pair in zip(REFS_A, REFS_B)]
    assert bleu(SYSTEM, refs) == pytest.approx(48.53, abs=0.005)


def test_bleu_fixed_points():
    assert bleu(["a b c d e"], [["a b c d e"]]) == pytest.approx(100.0)
    assert bleu(["x y z w"], [["a b c d"]]) == 0.0
    # brevity penalty alone: every n-gram right, the output half as long as the reference
    half = bleu(["a b c d"], [["a b c d e f g h"]])
    assert half == pytest.approx(100 * math.exp(1 - 8 / 4))


def test_error_rates_by_hand():
    assert error_rate(["kitten"], [["sitting"]], "char") == pytest.approx(3 / 7)
    assert error_rate(["the cat sat"], [["the cat sat down"]], "word") == pytest.approx(1 / 4)
    # corpus-level: edits summed over reference lengths summed
    assert error_rate(["ab", "xyz"], [["ab"], ["xy"]], "char") == pytest.approx(1 / 4)
    # the closest of several references counts
    assert error_rate(["seven"], [["the number seven", "seven"]], "char") == 0.0


def test_cider_d_fixed_points():
    refs = [["a man rides a red horse"], ["two dogs play in the snow"]]
    assert cider_d(["a man rides a red horse", "two dogs play in the snow"], refs) == pytest.approx(10.0)
    assert cider_d(["green purple", "orange blue"], refs) == 0.0
    partial = cider_d(["a man rides a horse", "two dogs play in the snow"], refs)
    assert 5.0 < partial < 10.0


def test_exact_match_and_normalising():
    assert normalise("Seven.") == normalise("seven .") == "seven ."
    assert exact_match(["seven .", "two"], [["seven ."], ["three"]]) == 0.5
    scores = text_scores(["The number Seven"], [["the number seven"]])
    assert scores["exact"] == 1.0 and scores["cer"] == 0.0 and scores["text_accuracy"] == 1.0
