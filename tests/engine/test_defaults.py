"""Strong defaults from the data (issue 13): text in any script, the TF-IDF n-gram encoder,
automatic settings with their reasons, and retrieval figures that count each item once."""

from __future__ import annotations

import json
import math

import pytest
import torch

from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TextSpec, TrainSpec
from mmstudio.engine.autoconfig import resolve, with_placeholders
from mmstudio.engine.losses import info_nce
from mmstudio.engine.metrics import retrieval_metrics
from mmstudio.engine.tokenizer import Tokenizer, split_words


def test_unspaced_scripts_split_per_character_and_unicode_is_normalised():
    assert split_words("红色的圆形在左边") == list("红色的圆形在左边")
    assert split_words("ｆｕｌｌ ＷＩＤＴＨ，ok") == ["full", "width", ",", "ok"]  # NFKC
    assert split_words("カタカナとひらがな") == list("カタカナとひらがな")
    assert split_words("Café au lait") == ["café", "au", "lait"]


def test_chinese_texts_get_a_real_vocabulary():
    texts = ["红色的圆形", "蓝色的方形", "红色的方形", "蓝色的圆形"] * 3
    tok = Tokenizer.build(texts, ngrams=2)
    assert {"红", "色", "圆", "红 色", "圆 形"} <= set(tok.vocab)
    ids = tok.encode("红色的圆形", 32)
    assert 1 not in ids and len(set(ids)) >= 6  # no unknown token, characters and pairs


def test_pairs_and_idf():
    tok = Tokenizer.build(["new york city", "new york", "old york road", "a b"], ngrams=2)
    assert {"new york", "york city", "new", "city"} <= set(tok.vocab)
    idf = dict(zip(tok.vocab, tok.idf))
    assert idf["york"] < idf["new"] < idf["city"]  # rarer tokens weigh more
    again = Tokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again.encode("new york city", 8) == tok.encode("new york city", 8)


def test_budget_is_shared_between_words_and_pairs():
    tok = Tokenizer.build(["a b c d e f"] * 2, ngrams=2)
    ids = tok.encode("a b c d e f", 6)
    words = [tok.vocab[i] for i in ids]
    assert words == ["a", "b", "c", "a b", "b c", "c d"]


def test_ngram_encoder_weights_rare_tokens_by_idf():
    from mmstudio.engine.encoders import ENCODERS

    enc = ENCODERS["text"].create("ngram", vocab_size=6, dim=8, dropout=0.0).eval()
    enc.set_idf([0.0, 1.0, 1.0, 1.0, 5.0, 1.0])
    with torch.no_grad():
        enc.embed.weight.zero_()
        enc.embed.weight[4, 0] = 1.0
        enc.embed.weight[2, 1] = 1.0
        pooled = []
        enc.proj = torch.nn.Identity()
        out = enc(torch.tensor([[2, 4, 0, 0]]))
        pooled.append(out)
    # the rare token (idf 5) dominates the normalised TF-IDF vector
    assert out[0, 0] == pytest.approx(5 / math.sqrt(26), rel=1e-5)
    assert out[0, 1] == pytest.approx(1 / math.sqrt(26), rel=1e-5)
    assert "idf" in dict(enc.named_buffers())  # saved with the weights


class _Data:
    """The few things resolve() reads from a dataset."""

    def __init__(self, items, modalities):
        self.items, self.modalities = items, modalities

    def subset(self, split):
        return [it for it in self.items if it.split == split]


def _items(n, text=None, image=None, audio=None):
    from mmstudio.data import Item

    return [
        Item(id=str(i), text=text(i) if text else None, image=image, audio=audio, label=str(i % 2), split="train")
        for i in range(n)
    ]


def test_settings_follow_the_size_of_the_data():
    small, _ = resolve(
        RunConfig(DatasetSpec("x"), ModelSpec(modalities=("text",))),
        _Data(_items(320, text=lambda i: "w " * (i % 20)), ["text"]),
    )
    large, chosen = resolve(
        RunConfig(DatasetSpec("x"), ModelSpec(modalities=("text",))),
        _Data(_items(8000, text=lambda i: "w " * (i % 20)), ["text"]),
    )
    assert small.train.batch_size == 16 and large.train.batch_size == 128
    assert small.train.lr < large.train.lr
    assert small.train.epochs > large.train.epochs >= 8
    for run in (small, large):  # enough steps to learn, and early stopping on validation
        steps = math.ceil((320 if run is small else 8000) / run.train.batch_size) * run.train.epochs
        assert steps >= 600 and run.train.early_stopping >= 3
    assert large.model.text.max_tokens == 2 * 19 - 1  # 95th percentile of 1..19 words + pairs
    fields = {c.field for c in chosen}
    assert {"train.batch_size", "train.lr", "train.epochs", "model.text.max_tokens"} <= fields
    assert all(c.reason for c in chosen)


def test_settings_the_user_gave_are_kept():
    run = RunConfig(
        DatasetSpec("x"),
        ModelSpec(modalities=("text",), text=TextSpec(max_tokens=7)),
        TrainSpec(epochs=3, batch_size=5, lr=0.1),
    )
    resolved, chosen = resolve(run, _Data(_items(100, text=lambda i: "a b c"), ["text"]))
    assert (resolved.train.epochs, resolved.train.batch_size, resolved.train.lr) == (3, 5, 0.1)
    assert resolved.model.text.max_tokens == 7
    assert not {"train.epochs", "train.batch_size", "train.lr", "model.text.max_tokens"} & {c.field for c in chosen}
    assert resolve(resolved, _Data(_items(100, text=lambda i: "a b c"), ["text"]))[0] == resolved


def test_image_and_audio_sizes_come_from_the_files(tmp_path):
    import numpy as np
    import soundfile
    from PIL import Image

    Image.new("RGB", (28, 28)).save(tmp_path / "a.png")
    Image.new("RGB", (300, 200)).save(tmp_path / "b.png")
    soundfile.write(tmp_path / "a.wav", np.zeros(22050 * 3, dtype=np.float32), 22050)
    run = RunConfig(DatasetSpec("x"), ModelSpec(modalities=("image", "audio")))
    small, _ = resolve(
        run, _Data(_items(10, image=str(tmp_path / "a.png"), audio=str(tmp_path / "a.wav")), ["image", "audio"])
    )
    assert small.model.image.size == 28
    assert small.model.audio.seconds == 3.0 and small.model.audio.sample_rate == 16000
    run = run.replace(model=run.model.replace(modalities=("image",)))
    big, _ = resolve(run, _Data(_items(10, image=str(tmp_path / "b.png")), ["image"]), "cpu")
    assert big.model.image.size == 64
    assert resolve(run, _Data(_items(10, image=str(tmp_path / "b.png")), ["image"]), "cuda")[0].model.image.size == 128


def test_estimates_work_before_any_data():
    run = with_placeholders(RunConfig(DatasetSpec("x")))
    assert run.train.batch_size and run.model.image.size and run.model.text.max_tokens


def test_recall_counts_each_image_once():
    # three images, two captions each; captions of image k point exactly at image k
    img = torch.eye(3).repeat_interleave(2, 0)
    txt = img.clone()
    groups_img = torch.tensor([0, 0, 1, 1, 2, 2])
    groups_txt = torch.arange(6)
    out = retrieval_metrics(txt, img, query_groups=groups_txt, corpus_groups=groups_img)
    assert out["queries"] == 6 and out["corpus"] == 3
    assert out["exact"]["recall@1"] == 1.0
    back = retrieval_metrics(img, txt, query_groups=groups_img, corpus_groups=groups_txt)
    assert back["queries"] == 3 and back["corpus"] == 6 and back["exact"]["recall@1"] == 1.0
    # without groups every pair counts once, copies included
    plain = retrieval_metrics(txt, img)
    assert plain["queries"] == 6 and plain["corpus"] == 6


def test_contrastive_loss_does_not_push_an_image_from_its_own_captions():
    # two augmented views of one image (items 0 and 1), each nearest the other's caption
    image = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, -1.0]]), dim=1)
    text = torch.nn.functional.normalize(torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]]), dim=1)
    feats = {"image": image, "text": text}
    mask = {m: torch.ones(3, dtype=torch.bool) for m in feats}
    scale = torch.tensor(math.log(10.0))
    groups = {"image": torch.tensor([0, 0, 1]), "text": torch.tensor([0, 1, 2])}
    # hard targets punish each caption for matching its own image's other view
    assert info_nce(feats, mask, scale, groups) < info_nce(feats, mask, scale) - 1.0


def test_another_text_encoder_chooses_its_pairs_and_vocabulary_again():
    from mmstudio.engine.autoconfig import with_text_encoder
    from mmstudio.engine.presets import apply_preset

    text = TextSpec(ngrams=2, vocab_size=300, max_tokens=20)  # as resolved for ngram
    assert with_text_encoder(text, "ngram") == text
    gru = with_text_encoder(text, "gru")
    assert (gru.encoder, gru.ngrams, gru.vocab_size, gru.max_tokens) == ("gru", 0, 0, 20)
    run = RunConfig(DatasetSpec("x"), ModelSpec(text=text))
    accurate = apply_preset(run, "accurate").model.text
    assert accurate.encoder == "transformer" and accurate.ngrams == 0  # no word pairs for a sequence
