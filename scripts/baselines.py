"""Plain hand-written references beside MMStudio's defaults, on the same splits.

    python scripts/baselines.py [--only NAME ...] [--bench-data DIR] [--markdown FILE]

For each benchmark it trains a plain reference per modality (TF-IDF + logistic regression for
text, a small CNN for images and for log-mel spectrograms, a CLIP-style pair for captions; a
multimodal reference averages its references' probabilities) and MMStudio with nothing but the
data, the task and the modalities (``mmstudio train --data D --task T --modalities M``), then
prints one table. Both read the split that MMStudio's data layer assigns, so they see the same
train and test items. Needs scikit-learn (``pip install scikit-learn``).

Datasets: the shared ones (``../shared/datasets``) and those ``scripts/make_bench_data.py``
makes (``--bench-data``, made there when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmstudio.config import DatasetSpec
from mmstudio.data import open_dataset, read_audio, read_image
from mmstudio.engine.tokenizer import split_words

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "datasets")

# name, dataset path (relative to shared/ or bench data), task, modalities, label column when
# it is not named like one (MMStudio guesses no label from content: it asks)
BENCHMARKS = [
    ("prompts text->group", "shared:prompts", "classify", "text", "group"),
    ("prompts audio+text->group", "shared:prompts", "classify", "audio,text", "group"),
    ("debian text->section", "bench:debian_sections", "classify", "text", "section"),
    ("shapes_zh caption<->image", "bench:shapes_zh", "align", "image,text", ""),
    ("shapes_said image+audio", "bench:shapes_said", "classify", "image,audio", "kind"),
    ("clipart text->category", "shared:clipart", "classify", "text", ""),
    ("clipart text<->image", "shared:clipart", "align", "image,text", ""),
    ("digits image", "shared:digits", "classify", "image", ""),
    ("digits audio", "shared:digits", "classify", "audio", ""),
    ("digits image+audio", "shared:digits", "classify", "image,audio", ""),
]


# ---- references -------------------------------------------------------------------------------
def text_reference(train, test, classes) -> np.ndarray:
    """TF-IDF of unigrams + bigrams, logistic regression (C picked on a held-out tenth)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def fit(items, c):
        vec = TfidfVectorizer(
            tokenizer=split_words, token_pattern=None, lowercase=False, ngram_range=(1, 2), sublinear_tf=True
        )
        x = vec.fit_transform([it.text for it in items])
        return vec, LogisticRegression(C=c, max_iter=3000).fit(x, [classes.index(it.label) for it in items])

    cut = len(train) * 9 // 10
    scores = {}
    for c in (1.0, 10.0, 100.0):
        vec, lr = fit(train[:cut], c)
        scores[c] = lr.score(
            vec.transform([it.text for it in train[cut:]]), [classes.index(it.label) for it in train[cut:]]
        )
    vec, lr = fit(train, max(scores, key=scores.get))
    probs = np.zeros((len(test), len(classes)))
    probs[:, lr.classes_] = lr.predict_proba(vec.transform([it.text for it in test]))
    return probs


def small_cnn(channels: int, classes: int) -> nn.Module:
    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))

    return nn.Sequential(
        block(channels, 32),
        block(32, 64),
        block(64, 128),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(128, classes),
    )


def fit_classifier(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int = 15, flips: bool = False
) -> nn.Module:
    """AdamW + one-cycle at 3e-3, batch 64: the plain loop a careful user writes."""
    steps = epochs * ((len(x) + 63) // 64)
    opt = torch.optim.AdamW(model.parameters(), 3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x)).split(64):
            xb = x[idx]
            if flips:
                xb = torch.where(torch.rand(len(xb), 1, 1, 1) < 0.5, xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def image_tensor(items, size: int) -> torch.Tensor:
    imgs = [np.asarray(read_image(it.image).convert("RGB").resize((size, size))) for it in items]
    return torch.tensor(np.stack(imgs)).permute(0, 3, 1, 2).float() / 127.5 - 1


def image_reference(train, test, classes) -> np.ndarray:
    size = 32 if max(read_image(train[0].image).size) <= 32 else 64
    y = torch.tensor([classes.index(it.label) for it in train])
    model = fit_classifier(small_cnn(3, len(classes)), image_tensor(train, size), y)
    with torch.no_grad():
        return F.softmax(model(image_tensor(test, size)), 1).numpy()


def logmel_tensor(items, seconds: float, rate: int = 16000) -> torch.Tensor:
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(rate, n_fft=512, hop_length=rate // 100, n_mels=40)
    out = []
    for it in items:
        wave, sr = read_audio(it.audio)
        x = torchaudio.functional.resample(torch.tensor(wave, dtype=torch.float32), sr, rate)
        x = F.pad(x, (0, max(0, int(seconds * rate) - len(x))))[: int(seconds * rate)]
        out.append(torch.log(mel(x) + 1e-6))
    x = torch.stack(out)[:, None]
    return (x - x.mean()) / x.std()


def audio_reference(train, test, classes) -> np.ndarray:
    lengths = [len(read_audio(it.audio)[0]) / read_audio(it.audio)[1] for it in train[:300]]
    seconds = float(min(4.0, np.percentile(lengths, 95)))
    y = torch.tensor([classes.index(it.label) for it in train])
    model = fit_classifier(small_cnn(1, len(classes)), logmel_tensor(train, seconds), y)
    with torch.no_grad():
        return F.softmax(model(logmel_tensor(test, seconds)), 1).numpy()


def caption_reference(train, test, epochs: int = 10) -> dict[str, float]:
    """CLIP-style: small CNN + bag of words, InfoNCE with soft targets for repeated images."""
    vocab = {w: i + 1 for i, w in enumerate(sorted({w for it in train for w in split_words(it.text)}))}

    def ids(items):
        rows = [[vocab.get(w, 0) for w in split_words(it.text)][:32] or [0] for it in items]
        return torch.tensor([r + [0] * (32 - len(r)) for r in rows])

    size = 64
    img_model = nn.Sequential(*list(small_cnn(3, 128).children()))
    emb = nn.EmbeddingBag(len(vocab) + 1, 128, mode="mean", padding_idx=0)
    txt_model = nn.Sequential(nn.Linear(128, 128))
    scale = nn.Parameter(torch.tensor(2.66))
    params = [*img_model.parameters(), *emb.parameters(), *txt_model.parameters(), scale]
    group = {p: i for i, p in enumerate(sorted({it.image for it in train}))}
    x, t = image_tensor(train, size), ids(train)
    g = torch.tensor([group[it.image] for it in train])
    steps = epochs * ((len(x) + 127) // 128)
    opt = torch.optim.AdamW(params, 3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    for _ in range(epochs):
        img_model.train()
        for idx in torch.randperm(len(x)).split(128):
            xb = torch.where(torch.rand(len(idx), 1, 1, 1) < 0.5, x[idx].flip(3), x[idx])
            a = F.normalize(img_model(xb), dim=-1)
            b = F.normalize(txt_model(emb(t[idx])), dim=-1)
            logits = scale.exp() * a @ b.T
            same = (g[idx][:, None] == g[idx][None]).float()
            target = same / same.sum(1, keepdim=True)
            loss = (
                torch.sum(-target * F.log_softmax(logits, 1), 1).mean()
                + torch.sum(-target * F.log_softmax(logits.T, 1), 1).mean()
            ) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    img_model.eval()
    images = sorted({it.image for it in test})
    with torch.no_grad():
        a = F.normalize(img_model(image_tensor([_Img(p) for p in images], size)), dim=-1)
        b = F.normalize(txt_model(emb(ids(test))), dim=-1)
    truth = torch.tensor([images.index(it.image) for it in test])
    rank = ((b @ a.T) > (b @ a.T).gather(1, truth[:, None])).sum(1) + 1
    return {f"recall@{k}": float((rank <= k).float().mean()) for k in (1, 5, 10)}


class _Img:
    def __init__(self, image: str) -> None:
        self.image = image


REFERENCES = {"text": text_reference, "image": image_reference, "audio": audio_reference}


def reference(items_train, items_test, task: str, modalities: list[str], classes) -> dict:
    if task == "align":
        return caption_reference(items_train, items_test)
    probs = sum(REFERENCES[m](items_train, items_test, classes) for m in modalities)
    truth = np.array([classes.index(it.label) for it in items_test])
    return {"accuracy": float((probs.argmax(1) == truth).mean())}


# ---- MMStudio's defaults ------------------------------------------------------------------------
def mmstudio(path: str, task: str, modalities: str, label: str) -> dict:
    """``mmstudio train`` with nothing but data, task and modalities (and the label column when
    it is not named like one); then ``eval`` on the test split."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [
            sys.executable,
            "-m",
            "mmstudio.cli",
            "train",
            "--data",
            path,
            "--task",
            task,
            "--modalities",
            modalities,
            "--out",
            out,
        ] + (["--column", f"{label}=label"] if label else [])
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "mmstudio.cli",
                    "eval",
                    os.path.join(out, "bundle"),
                    "--data",
                    path,
                    "--split",
                    "test",
                    "--no-ablation",
                    "--json",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
    if task == "align":
        return result["retrieval"]["text->image"]["exact"]
    return {"accuracy": result["accuracy"]}


def table_row(name: str, task: str, ref: dict, ours: dict, ref_s: float, ours_s: float) -> str:
    """One markdown row; a reference not run (``--ours-only``) shows as "-"."""
    metric = "text->image R@10" if task == "align" else "test accuracy"
    key = "recall@10" if task == "align" else "accuracy"
    if not ref:
        row = f"| {name} | {metric} | - | {ours[key]:.3f} | - | - / {ours_s:.0f} |"
    else:
        row = (
            f"| {name} | {metric} | {ref[key]:.3f} | {ours[key]:.3f} | {ours[key] - ref[key]:+.3f} "
            f"| {ref_s:.0f} / {ours_s:.0f} |"
        )
    if task == "align":
        row += f" R@1/5 ours {ours['recall@1']:.2f}/{ours['recall@5']:.2f}"
        if ref:
            row += f", ref {ref['recall@1']:.2f}/{ref['recall@5']:.2f}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="benchmark names containing any of these words")
    parser.add_argument("--bench-data", default=os.path.join(tempfile.gettempdir(), "mmstudio-bench"))
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument(
        "--ours-only",
        action="store_true",
        help="train only MMStudio (the references did not change: reuse their figures from a table)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    subprocess.run(
        [sys.executable, os.path.join(HERE, "make_bench_data.py"), args.bench_data],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    rows = [
        "| benchmark | metric | reference | MMStudio defaults | difference | seconds (ref / ours) |",
        "|---|---|---|---|---|---|",
    ]
    print("\n".join(rows), flush=True)
    for name, where, task, mods, label in BENCHMARKS:
        if args.only and not any(w in name for w in args.only):
            continue
        kind, sub = where.split(":")
        path = os.path.normpath(os.path.join(SHARED if kind == "shared" else args.bench_data, sub))
        if not os.path.exists(path):
            print(f"| {name} | skipped: {path} missing |", flush=True)
            continue
        ds = open_dataset(DatasetSpec(path, columns={label: "label"} if label else {}))
        modalities = mods.split(",")
        train, test = ([it for it in ds.subset(s) if all(it.has(m) for m in modalities)] for s in ("train", "test"))
        t0 = time.monotonic()
        ref = {} if args.ours_only else reference(train, test, task, modalities, ds.class_names)
        t1 = time.monotonic()
        ours = mmstudio(path, task, mods, label)
        t2 = time.monotonic()
        rows.append(table_row(name, task, ref, ours, t1 - t0, t2 - t1))
        print(rows[-1], flush=True)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
