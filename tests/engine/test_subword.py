"""Subword tokenisation for the sequence encoders (issue 13): a BPE model learnt from the training
texts, saved in the bundle as tokenizer.json, read back only after its checks, applied the same
way by the numpy-only predict.py; and a default text model that learns from a small set."""

from __future__ import annotations

import csv
import hashlib
import json
import random
import shutil
import types
from pathlib import Path

import pytest

from mmstudio import engine
from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TextSpec, TrainSpec
from mmstudio.engine import standalone, subword
from mmstudio.engine.export_package import tokenizer_json
from mmstudio.engine.subword import SubwordTokenizer
from mmstudio.engine.tokenizer import Tokenizer, build_tokenizer
from mmstudio.errors import LoadError
from tests.engine.engine_helpers import drain

# Six topics, each with its own words (several sharing stems, so BPE has parts to learn) and a
# few shared filler words; texts mix two topic words with fillers in random order.
TOPICS = {
    "music": ["guitar", "guitarist", "singer", "singing", "melody", "melodies", "drums", "drummer"],
    "sport": ["football", "footballer", "runner", "running", "tennis", "swimmer", "swimming", "goal"],
    "food": ["cooking", "cooked", "baker", "baking", "recipe", "recipes", "soup", "bread"],
    "space": ["rocket", "rockets", "planet", "planetary", "orbit", "orbiting", "astronaut", "moon"],
    "garden": ["flower", "flowers", "gardener", "gardening", "seeds", "seedling", "tree", "trees"],
    "code": ["program", "programmer", "coding", "coder", "compiler", "compiling", "bug", "debugging"],
}
FILLER = ["the", "a", "new", "about", "with", "for", "today", "my", "our", "great", "story", "small"]
CHINESE = ["红色的圆形在左边", "蓝色的正方形在右边", "绿色的三角形在中间", "黄色的星形在上面"]


def _text(rng: random.Random, topic: str) -> str:
    words = rng.sample(TOPICS[topic], 2) + rng.sample(FILLER, 3)
    rng.shuffle(words)
    return " ".join(words).capitalize() + "."


@pytest.fixture(scope="module")
def topics_csv(tmp_path_factory):
    """240 short texts in six balanced topics, a fifth of them held out as the test split."""
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("topics") / "texts.csv"
    rows = [{"text": _text(rng, t), "label": t} for _ in range(40) for t in TOPICS]
    rng.shuffle(rows)
    for i, row in enumerate(rows):
        row["split"] = "test" if i % 5 == 0 else "train"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def gru_bundle(topics_csv, tmp_path_factory):
    """A GRU text classifier trained briefly with the automatic settings: a subword bundle."""
    out = tmp_path_factory.mktemp("gru")
    run = RunConfig(
        DatasetSpec(str(topics_csv)),
        ModelSpec(modalities=("text",), text=TextSpec("gru"), dim=32),
        TrainSpec(epochs=2),
    )
    _, result = drain(engine.train(run, str(out)))
    return result.bundle


def test_sequence_encoders_default_to_subword_pieces_and_say_why(topics_csv):
    from mmstudio.data import open_dataset

    dataset = open_dataset(DatasetSpec(str(topics_csv)))
    for encoder, level in (("gru", "subword"), ("transformer", "subword"), ("ngram", "word")):
        run = RunConfig(DatasetSpec(str(topics_csv)), ModelSpec(modalities=("text",), text=TextSpec(encoder)))
        resolved, chosen = engine.resolve_settings(run, dataset)
        assert resolved.model.text.level == level
        reason = next(c.reason for c in chosen if c.field == "model.text.level")
        assert ("pieces" in reason) == (level == "subword")
    # word vectors are for words: a sequence encoder given some keeps whole words
    from mmstudio.engine.autoconfig import text_level

    assert text_level(TextSpec("gru", options={"vectors": "words.vec"})) == "word"
    # the tokenizer counted by the automatic settings is the one the trainer gets (built once)
    texts = [it.text for it in dataset.subset("train")]
    assert build_tokenizer(texts, "subword", 8000) is build_tokenizer(texts, "subword", 8000)


def test_subword_pieces_cover_unseen_words_and_chinese():
    rng = random.Random(1)
    texts = [_text(rng, t) for _ in range(30) for t in TOPICS] + CHINESE * 5
    tok = SubwordTokenizer.build(texts, 400)
    assert 30 < len(tok) <= 400 and tok.vocab[:2] == ["<pad>", "<unk>"]
    # a word never seen whole is read as known parts, not one unknown token
    pieces = tok.split("Drumming")
    assert 2 <= len(pieces) <= 3 and "".join(p.removeprefix("##") for p in pieces) == "drumming"
    chinese = tok.encode("红色的正方形在左边", 32)
    assert len(chinese) == 9 and 1 not in chinese  # one piece per character, all known
    assert tok.encode("ｒｏｃｋｅｔ", 8) == tok.encode("rocket", 8)  # NFKC
    assert tok.encode("", 8) == [1] and len(tok.encode(" ".join(["planet"] * 50), 10)) == 10


def test_a_subword_bundle_reopens_in_another_folder_with_the_same_ids(gru_bundle, tmp_path):
    bundle = engine.load_bundle(gru_bundle)
    tok = bundle.preprocessor.tokenizer
    assert isinstance(tok, SubwordTokenizer)
    meta = json.loads(Path(gru_bundle, "bundle.json").read_text(encoding="utf-8"))
    assert meta["preprocessing"]["tokenizer"]["file"] == "tokenizer.json"
    moved = tmp_path / "elsewhere"
    shutil.copytree(gru_bundle, moved)
    again = engine.load_bundle(str(moved))
    texts = ["The guitarist is drumming today.", "红色的圆形", "", "zzz qqq", "Rockets orbiting a planet"]
    assert again.preprocessor.text_batch(texts).tolist() == bundle.preprocessor.text_batch(texts).tolist()
    assert again.preprocessor.tokenizer.vocab == tok.vocab


def _damage(bundle: str, tmp_path, tokenizer_text: str | None = None, **entry) -> str:
    """A copy of ``bundle`` with its tokenizer.json replaced and its bundle.json entry changed."""
    copy = tmp_path / "damaged"
    shutil.copytree(bundle, copy)
    if tokenizer_text is not None:
        (copy / "tokenizer.json").write_text(tokenizer_text, encoding="utf-8")
    meta = json.loads((copy / "bundle.json").read_text())
    meta["preprocessing"]["tokenizer"].update(entry)
    (copy / "bundle.json").write_text(json.dumps(meta))
    return str(copy)


def test_a_hostile_tokenizer_json_is_refused_with_a_clear_message(gru_bundle, tmp_path, monkeypatch):
    good = Path(gru_bundle, "tokenizer.json").read_text(encoding="utf-8")
    # a path outside the bundle's folder
    with pytest.raises(LoadError, match="outside the bundle"):
        engine.load_bundle(_damage(gru_bundle, tmp_path / "a", file="../../tokenizer.json"))
    # changed after training: the checksum in bundle.json no longer matches
    with pytest.raises(LoadError, match="checksum"):
        engine.load_bundle(_damage(gru_bundle, tmp_path / "b", good.replace('"guitar', '"gitar', 1)))
    # another schema (a WordPiece model, a vocabulary that is a list), checksum updated to match
    for bad in (
        json.dumps({"model": {"type": "WordPiece", "vocab": {"a": 0}, "merges": []}}),
        json.dumps({"model": {"type": "BPE", "vocab": ["<pad>", "<unk>"], "merges": []}}),
        "{not json",
    ):
        digest = hashlib.sha256(bad.encode()).hexdigest()
        with pytest.raises(LoadError, match="tokenizer.json"):
            engine.load_bundle(_damage(gru_bundle, tmp_path / f"c{len(bad)}", bad, sha256=digest))
    # too big: refused before it is parsed
    monkeypatch.setattr(subword, "MAX_FILE_BYTES", 1000)
    with pytest.raises(LoadError, match="too large"):
        engine.load_bundle(gru_bundle)


def test_predict_py_applies_the_bpe_merges_as_the_studio_does(gru_bundle):
    bundle = engine.load_bundle(gru_bundle)
    pre = bundle.preprocessor
    spec = {"text": {"max_tokens": pre.text.max_tokens, "tokenizer": tokenizer_json(bundle)}}
    rng = random.Random(3)
    texts = [_text(rng, t) for t in TOPICS] + [
        "Drumming, singers & PROGRAMMERS!",
        "红色的圆形在左边 and a rocket",
        "ｆｕｌｌ ｗｉｄｔｈ naïve café",
        "",
        "xyzzy " * 40,
    ]
    for text in texts:
        assert standalone.text_input(text, spec).tolist() == pre.text_batch([text])[0].tolist(), text


def test_predict_py_reads_word_pairs_as_the_ngram_encoder_does():
    tok = Tokenizer.build(["new york city", "old york road", "红色的圆形"], ngrams=2)
    stand_in = types.SimpleNamespace(preprocessor=types.SimpleNamespace(tokenizer=tok))
    spec = {"text": {"max_tokens": 7, "tokenizer": tokenizer_json(stand_in)}}
    for text in ("New York city road", "红色的圆形", "", "Ｎｅｗ ｙｏｒｋ"):
        assert standalone.text_input(text, spec).tolist()[: len(tok.encode(text, 7))] == tok.encode(text, 7)


def test_the_default_text_model_beats_the_majority_class_by_far(topics_csv, tmp_path):
    """Nothing but the data: six balanced topics, so always answering one scores about 1/6."""
    run = RunConfig(DatasetSpec(str(topics_csv)))
    _, result = drain(engine.train(run, str(tmp_path)))
    metrics = engine.evaluate(result.bundle, str(topics_csv), "test", ablation=False)
    test_labels = [row["label"] for row in csv.DictReader(topics_csv.open(encoding="utf-8")) if row["split"] == "test"]
    majority = max(test_labels.count(t) for t in TOPICS) / len(test_labels)
    assert majority < 0.3 and metrics["accuracy"] >= majority + 0.5


def test_order_free_encoders_keep_every_token_and_sequence_encoders_the_95th_percentile():
    from mmstudio.data import Item

    texts = ["one two three"] * 99 + [" ".join(f"w{i}" for i in range(30))]
    items = [Item(id=str(i), text=t, label=str(i % 2), split="train") for i, t in enumerate(texts)]
    data = types.SimpleNamespace(items=items, modalities=["text"], subset=lambda s: items if s == "train" else [])
    budgets = {}
    for encoder in ("ngram", "gru"):
        run = RunConfig(DatasetSpec("x"), ModelSpec(modalities=("text",), text=TextSpec(encoder, level="word")))
        resolved, chosen = engine.resolve_settings(run, data)
        budgets[encoder] = resolved.model.text.max_tokens
        assert any(c.field == "model.text.max_tokens" for c in chosen)
    assert budgets == {"ngram": 30 + 29, "gru": 8}  # 30 words and their pairs; 3 words (8 at least)
