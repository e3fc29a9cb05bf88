"""Property-based fuzzing of every loader (issue 16): manifests, project files, bundle JSON,
run.toml, and a run folder's status and events. Each loader meets at least 2,000 generated inputs
(random bytes and text, random JSON, valid documents with one value replaced, deep nesting, huge
numbers); the only exception allowed is the loader's own error type, whose message names the file.

Derandomised so CI sees the same inputs every run. The 10,000 inputs cost about 60 s of one core
(hypothesis's generation is most of it); ``MMSTUDIO_FUZZ_EXAMPLES=200`` makes a quick local run.
"""

from __future__ import annotations

import json
import math
import os
import shutil

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmstudio.config import DatasetSpec, ModelSpec, RunConfig
from mmstudio.data.manifest import guess_roles, label_note, read_manifest
from mmstudio.errors import LoadError
from mmstudio.project import Project, ProjectError, load_project, save_project

EXAMPLES = int(os.environ.get("MMSTUDIO_FUZZ_EXAMPLES", "2000"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=6,
)
#: texts that break naive parsers: deep nesting, 5,000-digit numbers, NaN, NUL, lone surrogates
NASTY = st.sampled_from(
    [
        "[" * 5000 + "]" * 5000,
        "9" * 5000,
        "1e999999",
        "NaN",
        "-Infinity",
        "\x00",
        '"\\ud800"',
        "{" * 3000,
        '{"a": ' * 2000 + "1" + "}" * 2000,
        "[]",
        "{}",
        "null",
    ]
)


def _mutated(good: dict, draw_value) -> st.SearchStrategy:
    """``good`` with one value (anywhere in it) replaced by a generated one, or one key removed."""
    paths: list[tuple] = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node[:3]):
                walk(v, path + (i,))

    walk(good, ())
    paths = [p for p in paths if p]

    def apply(args):
        path, value, remove = args
        data = json.loads(json.dumps(good))
        node = data
        for key in path[:-1]:
            node = node[key]
        if remove and isinstance(node, dict):
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
        return data

    return st.tuples(st.sampled_from(paths), draw_value, st.booleans()).map(apply)


def _as_text(value) -> str:
    return json.dumps(value, allow_nan=True)


def _document(good: dict) -> st.SearchStrategy:
    """What a hostile or damaged JSON file can hold: bytes, text, JSON, a mutated good file."""
    mutated = _mutated(good, JSON | NASTY.map(lambda s: {"__raw__": s}))
    return st.one_of(
        st.binary(max_size=400),
        st.text(max_size=200).map(str.encode),
        NASTY.map(str.encode),
        JSON.map(lambda v: _as_text(v).encode()),
        mutated.map(lambda d: _raw(_as_text(d)).encode("utf-8", "surrogatepass")),
        mutated.map(lambda d: _raw(_as_text(d)).encode("utf-8", "surrogatepass")[: len(_as_text(d)) // 2]),
    )


def _raw(text: str) -> str:
    """Put NASTY snippets in as raw JSON text (deep nesting, long numbers), not as strings."""
    import re

    return re.sub(r'\{"__raw__": ("(?:[^"\\]|\\.)*")\}', lambda m: json.loads(m.group(1)), text)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


# ---- manifests ------------------------------------------------------------------------------

CELLS = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["a.png", "../x.wav", "/etc/passwd", "", "train", '"', "\n", "\x00", "caf\xe9", "🐱"]
)


@st.composite
def manifests(draw):
    ext = draw(st.sampled_from([".csv", ".tsv", ".jsonl", ".txt"]))
    kind = draw(st.sampled_from(["bytes", "table", "jsonl"]))
    if kind == "bytes":
        return ext, draw(st.binary(max_size=600))
    if kind == "jsonl":
        lines = draw(st.lists(JSON.map(_as_text) | NASTY, max_size=6))
        return ext, "\n".join(lines).encode("utf-8", "surrogatepass")
    columns = draw(st.lists(CELLS, min_size=1, max_size=5))
    rows = draw(st.lists(st.lists(CELLS, max_size=6), max_size=8))
    sep = draw(st.sampled_from([",", "\t", ";"]))
    text = "\n".join(sep.join(r) for r in [columns, *rows])
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16", "cp1251"]))
    return ext, text.encode(encoding, errors="replace")


@FUZZ
@given(case=manifests())
def test_fuzz_manifests(folder, case):
    ext, content = case
    path = folder / f"m{ext}"
    path.write_bytes(content)
    manifest = read_manifest(str(path))  # never raises: problems instead
    roles = guess_roles(manifest)
    label_note(manifest, roles)
    for problem in manifest.problems:
        assert problem.path == str(path) and problem.reason.strip()


# ---- project files --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_project(folder) -> dict:
    path = folder / "good.mmstudio"
    spec = DatasetSpec(str(folder / "data.csv"))
    save_project(
        Project(
            datasets=[spec],
            run_configs=[RunConfig(spec, ModelSpec(modalities=("image",)))],
            runs=[str(folder / "run")],
            bundle=str(folder / "b"),
            name="p",
        ),
        str(path),
    )
    return json.loads(path.read_text())


@FUZZ
@given(data=st.data())
def test_fuzz_project_files(folder, good_project, data):
    content = data.draw(_document(good_project))
    path = folder / "p.mmstudio"
    path.write_bytes(content)
    try:
        project = load_project(str(path))
    except ProjectError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    assert isinstance(project, Project)


# ---- run.toml -------------------------------------------------------------------------------


def _toml(value) -> bytes | None:
    try:
        return tomli_w.dumps(value).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        return None


@FUZZ
@given(data=st.data())
def test_fuzz_run_toml(folder, data):
    good = RunConfig(DatasetSpec("data.csv"), ModelSpec(modalities=("image", "text"))).to_dict()
    source = data.draw(st.sampled_from(["toml", "raw"]))
    if source == "toml":
        mutated = data.draw(_mutated(good, JSON))
        content = _toml(mutated)
        if content is None:  # TOML cannot hold that value (null): write the raw text instead
            content = _as_text(mutated).encode()
    else:
        content = data.draw(
            st.binary(max_size=300) | NASTY.map(lambda s: f"a = {s}".encode()) | st.text(max_size=200).map(str.encode)
        )
    path = folder / "run.toml"
    path.write_bytes(content)
    try:
        run = RunConfig.load(str(path))
    except LoadError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    assert isinstance(run, RunConfig)


# ---- bundle.json ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle_folder(folder):
    """A real tiny bundle (trained for a few steps) whose bundle.json the fuzzer rewrites."""
    from synth import make_triplet_dataset

    from mmstudio import engine
    from mmstudio.config import TrainSpec

    manifest = make_triplet_dataset(folder / "data", classes=2, per_class=4)
    run = RunConfig(
        DatasetSpec(str(manifest)),
        ModelSpec(modalities=("image", "text"), dim=16, embed_dim=16),
        TrainSpec(epochs=1, batch_size=4, device="cpu", max_steps=1),
    )
    out = folder / "run"
    gen = engine.train(run, str(out))
    for _ in gen:
        pass
    bundle = folder / "bundle"
    shutil.copytree(out / "bundle", bundle)
    return bundle


@FUZZ
@given(data=st.data())
def test_fuzz_bundle_json(bundle_folder, data):
    from mmstudio import engine
    from mmstudio.engine.bundle import BundleError

    meta_path = bundle_folder / "bundle.json"
    good = json.loads((bundle_folder.parent / "run" / "bundle" / "bundle.json").read_text())
    meta_path.write_bytes(data.draw(_document(good)))
    try:
        bundle = engine.load_bundle(bundle_folder)
    except BundleError as exc:
        assert str(meta_path) in str(exc) or str(bundle_folder) in str(exc)
        return
    assert bundle.model is not None


# ---- a run folder: status.json and events.jsonl -----------------------------------------------

EVENT = st.fixed_dictionaries(
    {
        "event": st.sampled_from(["StepLogged", "EpochDone", "RunStarted", 3, None]),
        "step": SCALARS,
        "epoch": SCALARS,
        "loss": SCALARS,
        "lr": SCALARS,
        "train_loss": SCALARS,
        "metrics": JSON,
        "weights": JSON,
    }
)


@FUZZ
@given(
    status=st.one_of(JSON.map(_as_text), NASTY, st.text(max_size=100)),
    events=st.lists(st.one_of(EVENT.map(_as_text), NASTY, st.text(max_size=50)), max_size=3),
)
def test_fuzz_run_folder(folder, status, events):
    from mmstudio.engine.runlog import read_curves, read_status

    run = folder / "run_folder"
    run.mkdir(exist_ok=True)
    (run / "status.json").write_text(status, encoding="utf-8", errors="surrogatepass")
    (run / "events.jsonl").write_text("\n".join(events), encoding="utf-8", errors="surrogatepass")
    state = read_status(str(run))  # never raises: a damaged file reads as "unknown"
    assert isinstance(state["status"], str)
    curves = read_curves(str(run))
    assert len(curves["step"]) == len(curves["loss"]) and all(math.isfinite(s) for s in curves["step"])
