"""A real full disk (issue 16): training into a small tmpfs ends with a clear message, the previous
checkpoint intact, no temporary files; after space is freed, resume completes.

Mounting needs root (CI) or an unprivileged user namespace (``unshare -rm``); the mount lives in
a private mount namespace, so it vanishes with the test's shell and touches nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import drain, tiny_run

from mmstudio import engine

ROOT = Path(__file__).resolve().parents[2]


def _namespace() -> list[str] | None:
    """The ``unshare`` prefix that can mount a tmpfs here, or None."""
    if not shutil.which("unshare") or sys.platform != "linux":
        return None
    for prefix in (["unshare", "-m"], ["unshare", "-rm"]):
        probe = subprocess.run(
            [
                *prefix,
                "sh",
                "-c",
                "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=64k tmpfs /tmp",
            ],
            capture_output=True,
            timeout=30,
        )
        if probe.returncode == 0:
            return prefix
    return None


NAMESPACE = _namespace()

#: Run inside the namespace after training met the full disk: what survived, as JSON.
PROBE = """
import json, os, sys
from mmstudio import engine
from mmstudio.engine import checkpoint as ckpt
out = sys.argv[1]
found = ckpt.find_checkpoint(out)
state = json.load(open(os.path.join(found, "state.json"))) if found else None
engine.load_bundle(found)
stray = [os.path.join(d, n) for d, dirs, files in os.walk(out) for n in dirs + files if ".tmp" in n]
print(json.dumps({"checkpoint": found, "epoch": state["epoch"], "stray": stray}))
"""


@pytest.mark.skipif(NAMESPACE is None, reason="cannot mount a tmpfs here (needs root or user namespaces)")
@pytest.mark.fault(
    case="The disk fills up during training (a real full disk)",
    how="`train --out` on a tmpfs sized for the first epoch's checkpoints and not the "
    "second's, in a private mount namespace (`tests/engine/test_disk_full.py`; "
    "runs where root or user namespaces can mount, as in CI)",
    behaviour="Exit status 2, no traceback: `could not write OUT/checkpoints/last: No space "
    "left on device; the previous copy is kept; free some disk space and try "
    "again`. Epoch 1's checkpoint is intact and loads; no temporary file or "
    "folder is left; after the tmpfs is enlarged, `--resume` completes",
)
def test_training_into_a_full_tmpfs_keeps_the_checkpoint_and_resumes(synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, modalities=("image", "text"), train={"epochs": 3, "device": "cpu"})
    # One epoch on the real disk tells how big a checkpoint is.
    sized = tmp_path / "sized"
    drain(engine.train(run.replace(train=run.train.replace(epochs=1)), str(sized)))
    ckpt_bytes = sum(p.stat().st_size for p in (sized / "checkpoints" / "last").iterdir())
    other = sum(p.stat().st_size for p in sized.iterdir() if p.is_file())
    # room for "last" and "best" of epoch 1, not for epoch 2's new "last" beside them
    size_kb = (other + int(2.5 * ckpt_bytes)) // 1024 + 8
    config, out = tmp_path / "run.toml", tmp_path / "out"
    run.save(str(config))
    out.mkdir()
    (tmp_path / "probe.py").write_text(PROBE)
    py, train = sys.executable, f"-m mmstudio train --config {config} --out {out}"
    script = f"""
        mount -t tmpfs -o size={size_kb}k tmpfs {out} || exit 99
        {py} {train} > {tmp_path}/stdout 2> {tmp_path}/stderr; echo $? > {tmp_path}/code
        {py} {tmp_path}/probe.py {out} > {tmp_path}/probe.json || exit 98
        mount -o remount,size=64m {out}
        {py} {train} --resume > {tmp_path}/resumed 2>&1 || exit 97
        {py} -c "from mmstudio import engine; print(engine.load_bundle('{out}').metrics['epochs'])" \\
            > {tmp_path}/epochs
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*NAMESPACE, "sh", "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, (
        done.returncode,
        done.stderr[-2000:],
        (tmp_path / "stderr").read_text()[-2000:] if (tmp_path / "stderr").exists() else "",
    )
    err = (tmp_path / "stderr").read_text()
    assert (tmp_path / "code").read_text().strip() == "2", err[-2000:]
    assert "Traceback" not in err
    assert f"could not write {out}/checkpoints/" in err and "No space left on device" in err
    assert "previous copy is kept" in err and "free some disk space" in err
    probe = json.loads((tmp_path / "probe.json").read_text())
    assert probe["epoch"] >= 1 and probe["stray"] == []
    assert (tmp_path / "epochs").read_text().strip() == "3"


#: Inside the namespace, on a tmpfs filled to the last byte: each writer over a good copy.
WRITERS = """
import json, os, sys, torch
from mmstudio import engine
from mmstudio.config import RunConfig
from mmstudio.project import Project, load_project, save_project
from mmstudio.engine.diskcache import MappedInputs
disk, bundle, data = sys.argv[1:4]
run = engine.load_bundle(bundle).run
files = {"project": os.path.join(disk, "p.mmstudio"), "run.toml": os.path.join(disk, "run.toml"),
         "index": os.path.join(disk, "index.safetensors"), "report": os.path.join(disk, "report"),
         "export": os.path.join(disk, "export")}  # the export package's folder
writers = {
    "project": lambda big: save_project(Project(name="x" * (200_000 if big else 1)), files["project"]),
    "run.toml": lambda big: run.replace(name="x" * (200_000 if big else 1)).save(files["run.toml"]),
    "index": lambda big: engine.build_index(bundle, data, out=files["index"], split="all" if big else "test"),
    "report": lambda big: engine.save_report({"accuracy": 1.0, "samples": [], "note": "x" * (200_000 if big else 1)},
                                             files["report"]),
    "export": lambda big: engine.export(bundle, format="pt2", out=files["export"], check=False),
}
for write in writers.values():
    write(False)  # the good copies
def snapshot():
    out = {}
    for d, _, names in os.walk(disk):
        for n in names:
            out[os.path.relpath(os.path.join(d, n), disk)] = open(os.path.join(d, n), "rb").read()
    return out
with open(os.path.join(disk, "filler"), "wb", buffering=0) as fh:  # fill the disk to the last byte
    try:
        while True:
            fh.write(b"\\0" * 512)
    except OSError:
        pass
before = snapshot()
result = {}
for name, write in writers.items():
    try:
        write(True)
        result[name] = "written"
    except OSError as exc:
        result[name] = str(exc)
cache = MappedInputs(("audio", 1), ["a.wav"] * 1000, (8000,), torch.float32, folder=os.path.join(disk, "cache"))
try:
    cache.create()
    result["cache"] = "written"
except OSError as exc:
    result["cache"] = str(exc)
after = snapshot()
result["unchanged"] = before == after
result["stray"] = sorted(set(after) - set(before))
load_project(files["project"]); RunConfig.load(files["run.toml"])
print(json.dumps(result))
"""


@pytest.mark.skipif(NAMESPACE is None, reason="cannot mount a tmpfs here (needs root or user namespaces)")
@pytest.mark.fault(
    case="A full disk under every other writer: project, run.toml, embedding index, "
    "evaluation report, torch.export file, decoded-input cache",
    how="each written once on a tmpfs, the tmpfs filled to the last byte, then each "
    "written again, larger (`tests/engine/test_disk_full.py`)",
    behaviour="Each raises `could not write FILE: No space left on device; the previous copy "
    "is kept; free some disk space and try again` (the cache: `…need N bytes and "
    "0 are free there…`, before creating anything); every file on the disk is "
    "byte-for-byte unchanged and no temporary file is left",
)
def test_every_writer_meets_a_full_disk_cleanly(trained, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    (tmp_path / "writers.py").write_text(WRITERS)
    script = (
        f"mount -t tmpfs -o size=4m tmpfs {disk} || exit 99\n"
        f"{sys.executable} {tmp_path}/writers.py {disk} {trained['result'].bundle} "
        f"{trained['manifest']} > {tmp_path}/result.json"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*NAMESPACE, "sh", "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    for name in ("project", "run.toml", "index", "report", "export"):
        message = result[name]
        assert message.startswith("could not write ") and "No space left on device" in message, (name, message)
        assert "previous copy is kept" in message and "free some disk space" in message, (name, message)
    assert "are free there" in result["cache"]
    assert result["unchanged"] and result["stray"] == []
