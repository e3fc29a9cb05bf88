"""The generate task: a tiny generator learns to write the right words, decoding is
deterministic (beam width 1 is greedy; beam search finds what greedy misses), CTC decodes as
computed by hand, bundles and exports give the same texts, and the rules guard the task."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from engine_helpers import drain, tiny_run
from synth import WORDS

from mmstudio import engine
from mmstudio.engine.beam import beam_search, ctc_beam, ctc_greedy, greedy
from mmstudio.engine.rules import DatasetFacts, check

SMALL = {"width": 32, "heads": 2, "layers": 1}


@pytest.fixture(scope="module")
def image_generator(synth_manifest, tmp_path_factory):
    """Image -> "the number <word>", trained once for the tests below."""
    out = tmp_path_factory.mktemp("gen-image")
    run = tiny_run(synth_manifest, task="generate", modalities=("image",), decoder_options=SMALL, train={"epochs": 8})
    events, result = drain(engine.train(run, str(out)))
    return {"run": run, "result": result, "events": events, "bundle": engine.load_bundle(result.bundle)}


def test_tiny_generator_learns_to_write_the_class_word(image_generator, synth_manifest):
    report = engine.evaluate(image_generator["result"].bundle, str(synth_manifest), split="test")
    assert report["generation"]["exact"] >= 0.9
    for row in report["examples"]:
        label = row["reference"].split()[-1]
        if row["error"] == 0:
            assert row["generated"] == f"the number {label}"
    # it beats always writing the most frequent training text
    assert report["generation"]["cer"] < report["baselines"]["most_frequent"]["cer"]
    assert report["baselines"]["nearest_neighbour"]["feature"]
    # each epoch was scored on the validation split, with its headline
    history = image_generator["result"].metrics["history"]
    assert all("token_accuracy" in row for row in history)
    assert engine.headline(history[-1])[0] == "token_accuracy"


def _features(bundle, manifest, split="test"):
    from mmstudio.engine.cache import prepare
    from mmstudio.engine.evaluation import split_items

    items = split_items(engine.load_dataset(manifest), split)
    return items, engine.drive(prepare(items, bundle.preprocessor, {}))


def test_beam_search_is_deterministic_and_width_one_is_greedy(image_generator, synth_manifest):
    from mmstudio.engine.generation import decode_features

    bundle = image_generator["bundle"]
    _, feats = _features(bundle, str(synth_manifest))
    first = decode_features(bundle.model, feats, beam=3)
    assert first == decode_features(bundle.model, feats, beam=3)
    assert all(len(h) == 3 and len({tuple(ids) for ids, _ in h}) == 3 for h in first)  # distinct beams
    greedy_ids = [h[0][0] for h in decode_features(bundle.model, feats, beam=1)]
    model, dec = bundle.model, bundle.model.decoder
    inputs, mask, _ = feats.batch(torch.arange(len(feats)))
    with torch.no_grad():
        states, ignore = dec.memory(model.encode_sequences(inputs), mask)
        width_one = beam_search(lambda t: dec.step(t, states, ignore), len(feats), dec.bos, dec.eos, dec.max_len, 1)
    assert [h[0][0] for h in width_one] == greedy_ids


def _toy_step(tokens: torch.Tensor) -> torch.Tensor:
    """A language model where the likeliest first token leads to a worse text: after start,
    a (0.6) or b (0.4); after a, the end only 0.3; after b, the end 0.95. Ids: a=1, b=2,
    start=3, end=4."""
    table = {3: [0.0, 0.6, 0.4, 0.0, 0.0], 1: [0.0, 0.35, 0.35, 0.0, 0.3], 2: [0.0, 0.025, 0.025, 0.0, 0.95]}
    rows = [table.get(int(t), [0.0, 0.0, 0.0, 0.0, 1.0]) for t in tokens[:, -1]]
    return torch.tensor(rows).clamp_min(1e-12).log()


def test_beam_search_finds_the_likelier_text_greedy_misses():
    assert greedy(_toy_step, 1, 3, 4, 3)[0][0][:1] == [1]  # greedy commits to a
    best = beam_search(_toy_step, 1, 3, 4, 3, width=2, alpha=0.0)[0]
    assert best[0][0] == [2]
    assert best[0][1] == pytest.approx(math.log(0.4 * 0.95), abs=1e-5)


def test_ctc_decoding_by_hand():
    logp = torch.tensor([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.9, 0.05], [0.9, 0.05, 0.05],
                         [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]]).log()[None]  # fmt: skip
    assert ctc_greedy(logp)[0][0] == [1, 1, 2]  # repeats merged, a blank between keeps both
    # two frames, P(label)=0.4 each: the best path is blank-blank (0.36), but the label "1"
    # has three paths (0.24 + 0.24 + 0.16 = 0.64): prefix beam search finds it
    two = torch.tensor([[[0.6, 0.4], [0.6, 0.4]]]).log()
    assert ctc_greedy(two)[0][0] == []
    found = ctc_beam(two, width=2)[0]
    assert found[0][0] == [1] and found[0][1] == pytest.approx(math.log(0.64), abs=1e-5)
    assert found[1][0] == [] and found[1][1] == pytest.approx(math.log(0.36), abs=1e-5)


def test_ctc_generator_trains_on_audio(synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, task="generate", modalities=("audio",), decoder="ctc", train={"epochs": 10})
    _, result = drain(engine.train(run, str(tmp_path)))
    report = engine.evaluate(result.bundle, str(synth_manifest), split="test", beam=2)
    assert report["generation"]["cer"] < report["baselines"]["most_frequent"]["cer"]
    assert all(len(row["alternatives"]) == 1 for row in report["examples"])


def test_bundle_describes_one_input_as_evaluate_does(image_generator, synth_manifest):
    from mmstudio.engine.generation import describe

    bundle = image_generator["bundle"]
    items, feats = _features(bundle, str(synth_manifest))
    report = engine.evaluate(bundle, str(synth_manifest), split="test")
    for i in range(3):
        texts = describe(bundle, {"image": feats.inputs["image"][i]}, beam=3)
        assert texts[0]["text"] == report["examples"][i]["generated"]
        assert texts[0]["score"] >= texts[-1]["score"] - 1.0  # best first (length-normalised)
        assert len(texts) == 3


def test_predict_writes_texts_and_alternatives(image_generator, synth_manifest, tmp_path):
    result = engine.predict_dataset(image_generator["result"].bundle, str(synth_manifest), split="test", beam=2)
    row = result["rows"][0]
    assert row["generated"].startswith("the number") and len(row["alternatives"]) == 1
    path = engine.write_predictions(result["rows"], str(tmp_path / "p.csv"))
    header, first = Path(path).read_text(encoding="utf-8").splitlines()[:2]
    assert header.split(",")[:3] == ["id", "split", "generated"] and " | " not in header
    assert row["generated"] in first


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_export_round_trip_gives_the_same_texts(image_generator, tmp_path, fmt):
    pytest.importorskip("onnxruntime") if fmt == "onnx" else None
    info = engine.export(image_generator["result"].bundle, format=fmt, out=str(tmp_path / fmt))
    assert info["checked"] and info["same_ids"] and info["ok"], info
    assert {"generate.json", "tokenizer.json", "README.md", f"decoder_step.{fmt}"} <= set(info["files"])
    assert "decoder_step" in (tmp_path / fmt / "README.md").read_text(encoding="utf-8")


def test_rules_guard_the_generate_task(synth_manifest):
    facts = DatasetFacts(str(synth_manifest), ("image", "audio"), 3, ("train", "test"))
    run = tiny_run(synth_manifest, task="generate")
    assert any(p.field == "model.task" for p in check(run, facts))  # no text to learn
    with_text = DatasetFacts(str(synth_manifest), ("image", "text", "audio"), 3, ("train", "test"))
    assert check(run, with_text) == []
    ctc_image = tiny_run(synth_manifest, task="generate", decoder="ctc", modalities=("image",))
    assert [p.field for p in check(ctc_image, with_text)] == ["model.decoder"]
    unknown = tiny_run(synth_manifest, task="generate", decoder="lstm")
    assert "transformer" in check(unknown, with_text)[0].choices
    bad_option = tiny_run(synth_manifest, task="generate", decoder_options={"depth": 3})
    assert check(bad_option, with_text)[0].field == "model.decoder_options"


def test_words_of_the_synthetic_captions_are_the_vocabulary(image_generator):
    vocab = image_generator["bundle"].preprocessor.tokenizer.vocab
    assert {"the", "number", *WORDS[:3]} <= set(vocab)
    assert not any(" " in tok for tok in vocab)  # generate never uses word pairs
