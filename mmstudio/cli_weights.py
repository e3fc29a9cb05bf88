"""``mmstudio weights list|get|import``: the pretrained weights this machine has, or can get.

``list`` shows every known set (size, licence, present or not, where it lives); ``get`` downloads
one with the library's own function (progress on stderr, Ctrl+C cancels and keeps nothing);
``import FILE`` copies a file brought from elsewhere into the cache after checking its checksum
and that it fits. Nothing is downloaded unless ``get`` is asked. Also the ``train`` flags that
choose pretrained weights (``--pretrained``, ``--weights``, ``--tune``, ``--text-vectors``).
"""

from __future__ import annotations

import argparse
import json
import sys


def add_weights_parser(sub) -> None:
    p = sub.add_parser("weights", help="list, download or import pretrained weights (never downloads unless asked)")
    verbs = p.add_subparsers(dest="verb", required=True)
    v = verbs.add_parser("list", help="known weights: size, licence, present on this machine or not")
    v.add_argument("--json", action="store_true")
    v = verbs.add_parser("get", help="download weights into the torch hub cache (needs a network)")
    v.add_argument("name", help="weights name from `mmstudio weights list`")
    v.add_argument("--json", action="store_true")
    v = verbs.add_parser("import", help="copy a weights file into the cache after checking it")
    v.add_argument("file")
    v.add_argument("--name", default="", help="which weights it is (default: from the file name)")
    v.add_argument("--force", action="store_true", help="accept a checksum other than the published one")
    v.add_argument("--json", action="store_true")


def add_train_flags(p: argparse.ArgumentParser) -> None:
    """The train command's pretrained-weights flags."""
    p.add_argument(
        "--pretrained",
        action="store_true",
        help="start the image (and wav2vec2/HuBERT audio) encoder from its published weights "
        "(see `mmstudio weights list`; they must be on this machine)",
    )
    p.add_argument("--weights", metavar="NAME|FILE", help="image encoder weights: a name or a local file")
    p.add_argument(
        "--tune",
        choices=["auto", "frozen", "finetune"],
        help="with pretrained weights: frozen (default; features computed once, only fusion and "
        "heads train) or finetune (the last blocks train too, at a tenth of the learning rate)",
    )
    p.add_argument(
        "--text-vectors", metavar="FILE", help="word vectors (GloVe/word2vec/fastText text) for the text encoder"
    )


def weights_command(args: argparse.Namespace) -> int:
    return {"list": _list, "get": _get, "import": _import}[args.verb](args)


def _list(args: argparse.Namespace) -> int:
    from mmstudio.engine.pretrained import CATALOGUE, hub_dir

    rows = [w.as_dict() for w in CATALOGUE.values()]
    if args.json:
        print(json.dumps({"hub_dir": hub_dir(), "weights": rows}, indent=2))
        return 0
    print(f"weights in {hub_dir()}/checkpoints:")
    for r in rows:
        state = "present" if r["present"] else "absent"
        print(f"  {r['name']:<34} {r['modality']:<6} {r['mbytes']:>7.1f} MB  {state:<8} {r['licence']}")
    print("get one: mmstudio weights get NAME   (offline: mmstudio weights import FILE)")
    return 0


def _get(args: argparse.Namespace) -> int:
    from mmstudio.engine.downloads import download
    from mmstudio.engine.pretrained import find

    info = find(args.name)
    if info.present():
        print(json.dumps(info.as_dict()) if args.json else f"{info.name}: already present ({info.path()})")
        return 0
    show = sys.stderr.isatty() and not args.json

    def progress(p) -> None:
        if show:
            print(f"\r{p.name}: {p.done / 1e6:,.1f} of {p.total / 1e6:,.1f} MB", end="", file=sys.stderr, flush=True)

    try:
        path = download(info, progress)
    finally:
        if show:
            print(file=sys.stderr)
    print(json.dumps(info.as_dict()) if args.json else f"{info.name}: downloaded to {path}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from mmstudio.engine.weights_check import import_file

    info = import_file(args.file, args.name, force=args.force)
    print(json.dumps(info.as_dict()) if args.json else f"{info.name}: imported to {info.path()}")
    return 0


def pretrained_model_flags(model, args: argparse.Namespace):
    """``model`` with the train command's pretrained-weights flags applied."""
    import dataclasses

    from mmstudio.engine.pretrained import default_for

    image, audio, text = model.image, model.audio, model.text
    if getattr(args, "weights", None):
        image = dataclasses.replace(image, weights=args.weights)
    elif getattr(args, "pretrained", False):
        info = default_for(image.encoder)
        if info is None:
            raise ValueError(
                f"--pretrained: image encoder {image.encoder!r} has no published weights; choose one of the torchvision encoders (mmstudio weights list)"
            )
        image = dataclasses.replace(image, weights=info.name)
    if getattr(args, "tune", None):
        image = dataclasses.replace(image, options={**image.options, "tune": args.tune})
        if audio.encoder in ("wav2vec2_base", "hubert_base"):
            audio = dataclasses.replace(audio, options={**audio.options, "tune": args.tune})
    if getattr(args, "text_vectors", None):
        text = dataclasses.replace(text, options={**text.options, "vectors": args.text_vectors})
    return model.replace(image=image, audio=audio, text=text)
