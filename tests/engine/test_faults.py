"""Faults a long run meets, and what survives each (issue 8; the table is docs/faults.md).

kill -9 mid-epoch, a save interrupted half-way or between its two renames, a full disk, CUDA
running out of memory (simulated: no GPU here), truncated, corrupted or pickled files. Each test
checks the earlier checkpoint or bundle is intact and loads, and that the error names the file
or says what to do.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import safetensors.torch
import torch
from engine_helpers import drain, start_and_kill_mid_epoch, tiny_run

from mmstudio import cli, engine
from mmstudio.engine import checkpoint as ckpt
from mmstudio.engine import trainer
from mmstudio.engine.bundle import BundleError
from mmstudio.engine.events import CheckpointSaved, EpochDone
from mmstudio.engine.optim import make_optimizer, make_scheduler

ROOT = Path(__file__).resolve().parents[2]


def _text_run(manifest, **train):
    return tiny_run(manifest, modalities=("text",), train={"epochs": 3, "device": "cpu", **train})


def _state(folder) -> dict:
    return json.loads((Path(folder) / "state.json").read_text())


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in Path(folder).iterdir()}


def _resume_completes(run, out) -> None:
    _, result = drain(engine.train(run, str(out), resume=True))
    assert result.reason == "completed" and result.epochs == run.train.epochs
    engine.load_bundle(result.bundle)


@pytest.mark.slow
@pytest.mark.fault(
    case="`kill -9` of a training process mid-epoch",
    how="`python -m mmstudio train --json` in a subprocess; SIGKILL once a checkpoint was saved "
    "and a later epoch's step was logged",
    behaviour="The last checkpoint (end of the previous epoch) is intact; no bundle was written yet. "
    "`train --resume` continues from it (`start_epoch` ≥ 1), completes all 8 epochs, and the "
    "final bundle loads.",
)
def test_kill_9_mid_epoch_then_resume(synth_manifest, tmp_path):
    run = tiny_run(
        synth_manifest,
        modalities=("image", "audio"),
        fusion="concat",
        train={"epochs": 8, "batch_size": 4, "device": "cpu", "log_every_s": 0.0},
    )
    config, out = tmp_path / "run.toml", tmp_path / "out"
    run.save(str(config))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "mmstudio", "train", "--config", str(config), "--out", str(out), "--json"]
    # mid-epoch, no chance to clean up
    proc = start_and_kill_mid_epoch(cmd, env, lambda p: p.send_signal(signal.SIGKILL))
    try:
        proc.stdout.read()
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "bundle").exists()  # it really died before the end
    assert 1 <= _state(ckpt.find_checkpoint(str(out)))["epoch"] < 8

    again = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    events = [json.loads(x) for x in again.stdout.splitlines()]
    started = next(e for e in events if e["event"] == "RunStarted")
    assert started["start_epoch"] >= 1
    assert events[-1]["event"] == "RunFinished" and events[-1]["reason"] == "completed"
    assert events[-1]["epochs"] == 8
    bundle = engine.load_bundle(str(out))
    assert bundle.class_names == ["one", "two", "zero"] and bundle.metrics["epochs"] == 8


@pytest.fixture
def one_epoch(synth_manifest, tmp_path):
    """A text run stopped after its first epoch: (run, out_dir, path of checkpoints/last)."""
    run = _text_run(synth_manifest)
    out = tmp_path / "out"
    control = engine.Control()
    for event in engine.train(run, str(out), control=control):
        if isinstance(event, EpochDone):
            control.stop()
    return run, out, Path(ckpt.find_checkpoint(str(out)))


def _optimiser(bundle):
    opt = make_optimizer(bundle.model, bundle.run.train)
    return opt, make_scheduler(opt, bundle.run.train, 5)


def _save_again(last: Path) -> None:
    """Save a checkpoint over ``last`` the way the trainer does (from its own contents)."""
    bundle = engine.load_bundle(last)
    opt, sched = _optimiser(bundle)
    state = ckpt.load_checkpoint(str(last), bundle.model, opt, sched)
    ckpt.save_checkpoint(
        str(last),
        bundle.model,
        bundle.run,
        bundle.shape,
        bundle.class_names,
        bundle.preprocessor,
        opt,
        sched,
        {**state, "epoch": 99},
    )


@pytest.mark.fault(
    case="A checkpoint write interrupted half-way",
    how="`safetensors.torch.save_file` writes 100 bytes, then the writer dies (`KeyboardInterrupt`)",
    behaviour="The previous checkpoint is byte-for-byte unchanged; the half-written temporary folder is "
    "removed; the next save works. Writes go to a temporary sibling folder that replaces the "
    "old one only when complete (`bundle.atomic_dir`).",
)
def test_checkpoint_write_interrupted_half_way_keeps_the_previous(one_epoch, monkeypatch):
    _, _, last = one_epoch
    before = _files(last)

    def half_written(state, path, metadata=None):
        with open(path, "wb") as fh:
            fh.write(b"\x00" * 100)  # some bytes reach the disk, then the writer dies
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", half_written)
    with pytest.raises(KeyboardInterrupt):
        _save_again(last)
    assert _files(last) == before
    assert not [p for p in last.parent.iterdir() if p.name.startswith(".tmp-")]
    monkeypatch.undo()
    _save_again(last)  # and the next save works
    assert _state(last)["epoch"] == 99


@pytest.mark.fault(
    case="A crash between the two renames of a save",
    how="`os.replace` fails on the second rename",
    behaviour="The first rename is undone: the previous checkpoint is back in place, unchanged, and the "
    "error says `could not write …/checkpoints/last: …; the previous copy is kept`. When a "
    "real kill leaves only `last.old`, resume finds and uses it, completes, and the next save "
    "removes `.old`.",
)
def test_crash_between_the_two_renames_keeps_the_previous(one_epoch, monkeypatch):
    run, out, last = one_epoch
    before = _files(last)
    real_replace, calls = os.replace, []

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # old -> .old done, tmp -> path fails
            raise OSError(errno.EIO, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", second_fails)
    with pytest.raises(OSError, match=f"could not write {last}.*previous copy is kept"):
        _save_again(last)
    monkeypatch.undo()
    assert _files(last) == before  # rolled back

    os.replace(last, str(last) + ".old")  # what a kill -9 between the renames leaves behind
    assert ckpt.find_checkpoint(str(out)) == str(last) + ".old"
    _resume_completes(run, out)
    assert not Path(str(last) + ".old").exists()


@pytest.mark.fault(
    case="The disk fills up during a save (simulated, runs everywhere)",
    how="`save_file` writes 1000 bytes of epoch 2's checkpoint, then raises `OSError(ENOSPC)`",
    behaviour="The run stops with `could not write …/checkpoints/last: No space left on device; the "
    "previous copy is kept; free some disk space and try again`. Epoch 1's `last` and `best` "
    "checkpoints are intact and load; resume completes.",
)
def test_disk_full_during_a_save_loses_no_checkpoint(synth_manifest, tmp_path, monkeypatch):
    run, out = _text_run(synth_manifest), tmp_path / "out"
    real_save, calls = safetensors.torch.save_file, []

    def fills_up(state, path, metadata=None):
        calls.append(path)
        if len(calls) == 3:  # epoch 1 saved last and best; epoch 2's "last" meets a full disk
            with open(path, "wb") as fh:
                fh.write(b"\x00" * 1000)
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(state, path, metadata=metadata)

    monkeypatch.setattr(safetensors.torch, "save_file", fills_up)
    events = []
    with pytest.raises(OSError) as info:
        for event in engine.train(run, str(out)):
            events.append(event)
    message = str(info.value)
    assert "checkpoints/last" in message and "No space left on device" in message
    assert "previous copy is kept" in message and "free some disk space" in message
    assert [e.epoch for e in events if isinstance(e, CheckpointSaved)] == [1, 1]
    assert _state(ckpt.find_checkpoint(str(out)))["epoch"] == 1
    engine.load_bundle(ckpt.find_checkpoint(str(out)))
    assert not [p for p in (out / "checkpoints").iterdir() if p.name.startswith(".tmp-")]
    monkeypatch.undo()
    _resume_completes(run, out)


@pytest.mark.fault(
    case="CUDA out of memory",
    how='the training step raises `torch.OutOfMemoryError("CUDA out of memory…")` in epoch 2',
    behaviour='The run stops with `engine.OutOfMemory`: "Training ran out of memory on the GPU (…). Try '
    "a smaller batch size (e.g. 4 instead of 8), or lower precision (bf16 or fp16), or "
    "smaller inputs … The last checkpoint is kept: …/checkpoints/last; resume from it after "
    "the change.\" The CLI prints the same on stderr (exit status 2, no traceback). Epoch 1's "
    "checkpoint is intact; resume completes.",
)
def test_cuda_out_of_memory_stops_with_advice_and_keeps_the_checkpoint(synth_manifest, tmp_path, monkeypatch, capsys):
    run, out = _text_run(synth_manifest), tmp_path / "out"
    real_step, calls = trainer._step, []

    def runs_out(*args, **kwargs):
        calls.append(1)
        if len(calls) == 7:  # in epoch 2 (5 steps an epoch)
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(trainer, "_step", runs_out)
    with pytest.raises(engine.OutOfMemory) as info:
        drain(engine.train(run, str(out)))
    message = str(info.value)
    assert "ran out of memory on the GPU" in message and "CUDA out of memory" in message
    assert "smaller batch size (e.g. 4 instead of 8)" in message
    assert "lower precision (bf16 or fp16)" in message
    assert f"last checkpoint is kept: {out / 'checkpoints' / 'last'}" in message
    assert _state(out / "checkpoints" / "last")["epoch"] == 1

    calls.clear()  # the CLI says the same on stderr, exit status 2, no traceback
    code = cli.main(["train", "--config", str(out / "run.toml"), "--out", str(tmp_path / "cli"), "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "smaller batch size" in err and "Traceback" not in err
    monkeypatch.undo()
    _resume_completes(run, out)


@pytest.mark.parametrize(
    "damage", ["truncate weights", "flip weights", "truncate trainer.pt", "corrupt state.json", "truncate bundle.json"]
)
@pytest.mark.fault(
    case="Truncated weights in a checkpoint",
    how="a third of `model.safetensors` kept (`[truncate weights]`)",
    behaviour="`--resume` refuses it: `BundleError` naming `…/checkpoints/last/model.safetensors` "
    "(checksum mismatch); the CLI prints it, exit 2.",
)
@pytest.mark.fault(
    case="Corrupted weights (flipped bytes)",
    how="last 20 bytes inverted (`[flip weights]`)",
    behaviour="Same: refused by the SHA-256 recorded in `bundle.json`, file named.",
)
@pytest.mark.fault(
    case="Truncated optimiser state",
    how="a third of `trainer.pt` kept (`[truncate trainer.pt]`)",
    behaviour="`…/trainer.pt: unreadable, truncated or not plain tensors (…)`.",
)
@pytest.mark.fault(
    case="Corrupted loop state",
    how="`state.json` cut mid-object (`[corrupt state.json]`)",
    behaviour="`…/state.json: unreadable or truncated (…)`.",
)
@pytest.mark.fault(
    case="Truncated bundle description",
    how="a third of a checkpoint's `bundle.json` kept (`[truncate bundle.json]`); bundles: "
    "`test_bundle.py::test_truncated_files_are_refused`, `test_tampered_weights_are_refused`",
    behaviour="`…/bundle.json: unreadable or truncated (…)`.",
)
def test_damaged_checkpoint_is_refused_naming_the_file(one_epoch, damage, capsys):
    run, out, last = one_epoch
    what, name = damage.split(" ", 1)
    name = {"weights": "model.safetensors"}.get(name, name)
    path = last / name
    data = path.read_bytes()
    if what == "truncate":
        path.write_bytes(data[: len(data) // 3])
    elif what == "flip":
        path.write_bytes(data[:-20] + bytes(b ^ 0xFF for b in data[-20:]))
    else:
        path.write_bytes(b'{"epoch": 1, "step":')
    with pytest.raises(BundleError, match=str(path)):
        drain(engine.train(run, str(out), resume=True))
    code = cli.main(["train", "--config", str(out / "run.toml"), "--out", str(out), "--resume"])
    assert code == 2 and str(path) in capsys.readouterr().err


@pytest.mark.fault(
    case="Weights that would need unpickling code",
    how="a pickle whose loading would run `touch MARKER`, saved as `model.safetensors` and as "
    "`trainer.pt` (also `test_bundle.py::test_checkpoint_state_refuses_pickled_code`, "
    "`test_local_image_weights_load_and_refuse_pickles`)",
    behaviour="Refused with a message naming the file (safetensors cannot read it; "
    "`torch.load(weights_only=True)` refuses the object); the marker file is never created: "
    "no code ran.",
)
def test_weights_that_need_unpickling_are_refused(one_epoch, tmp_path):
    _, _, last = one_epoch
    marker = tmp_path / "unpickled"
    bundle = tmp_path / "bundle"
    shutil.copytree(last, bundle)
    meta = json.loads((bundle / "bundle.json").read_text())
    meta["weights"].pop("sha256")  # the checksum would catch it first; show the format does too
    (bundle / "bundle.json").write_text(json.dumps(meta))
    torch.save({"x": Exploit(str(marker))}, bundle / "model.safetensors")
    with pytest.raises(BundleError, match=r"model\.safetensors.*(unreadable|truncated)"):
        engine.load_bundle(bundle)
    torch.save({"optimizer": {}, "evil": Exploit(str(marker))}, last / "trainer.pt")
    loaded = engine.load_bundle(last)
    with pytest.raises(BundleError, match=r"trainer\.pt.*not plain tensors"):
        ckpt.load_checkpoint(str(last), loaded.model, *_optimiser(loaded))
    assert not marker.exists()  # no code ran


class Exploit:
    """Unpickling this would create a file: weights_only / safetensors must never get that far."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))
