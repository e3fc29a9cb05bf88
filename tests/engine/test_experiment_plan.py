"""Experiment plans and results without training: the grid's runs, the plan file, the ranked
table and the paired bootstrap interval against cases whose answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, SplitSpec, TrainSpec
from mmstudio.engine.experiment_plan import (
    device_slots,
    grid_plan,
    grid_runs,
    load_plan,
    run_command,
    save_plan,
    search_plan,
)
from mmstudio.engine.experiment_tables import (
    export_table,
    gain,
    paired_bootstrap,
    ranked_table,
    table_markdown,
)
from mmstudio.errors import LoadError


def _base() -> RunConfig:
    data = DatasetSpec("/data/pairs.csv", split=SplitSpec(0.7, 0.1, 0.2, seed=5))
    return RunConfig(data, ModelSpec(dim=64, fusion="concat"), TrainSpec(epochs=3, lr=2e-3))


def test_grid_plan_lists_singles_then_every_fusion_per_seed():
    plan = grid_plan(_base(), ("image", "audio"), ("concat", "late", "tensor"), (0, 1))
    runs = grid_runs(plan)
    assert [r.name for r in runs] == [
        "image-s0",
        "audio-s0",
        "image+audio-concat-s0",
        "image+audio-late-s0",
        "image+audio-tensor-s0",
        "image-s1",
        "audio-s1",
        "image+audio-concat-s1",
        "image+audio-late-s1",
        "image+audio-tensor-s1",
    ]
    by_name = {r.name: r for r in runs}
    assert by_name["audio-s1"].run.model.modalities == ("audio",)
    assert by_name["image+audio-tensor-s1"].run.model.modalities == ("image", "audio")
    assert by_name["image+audio-tensor-s1"].run.model.fusion == "tensor"
    assert by_name["image+audio-late-s1"].config == "image+audio-late"
    # the same data and split everywhere; only the training seed differs between replicates
    assert all(r.run.dataset == _base().dataset for r in runs)
    assert [r.run.train.seed for r in runs] == [0] * 5 + [1] * 5
    assert all(r.run.train.replace(seed=0) == _base().train.replace(seed=0) for r in runs)
    assert {r.run.model.dim for r in runs} == {64}


def test_grid_plan_refuses_what_cannot_be_a_grid():
    with pytest.raises(ValueError, match="at least two modalities"):
        grid_plan(_base(), ("image",), ("concat",), (0,))
    with pytest.raises(ValueError, match="unknown fusion 'sum'"):
        grid_plan(_base(), ("image", "audio"), ("sum",), (0,))
    with pytest.raises(ValueError, match="distinct seeds"):
        grid_plan(_base(), ("image", "audio"), ("concat",), (1, 1))
    align = _base().replace(model=ModelSpec(task="align"))
    with pytest.raises(ValueError, match="task classify"):
        grid_plan(align, ("image", "audio"), ("concat",), (0,))
    with pytest.raises(ValueError, match="cannot search 'epochs'"):
        search_plan(_base(), 5, params=("epochs",))


def test_plan_file_round_trips_and_is_checked(tmp_path):
    plan = grid_plan(_base(), ("image", "audio"), ("concat", "late"), (0, 1, 2), name="digits")
    save_plan(str(tmp_path), plan)
    again = load_plan(str(tmp_path))
    assert again == plan
    assert [r.name for r in grid_runs(again)] == [r.name for r in grid_runs(plan)]
    data = json.loads((tmp_path / "experiment.json").read_text())
    data["seeds"] = ["zero"]
    (tmp_path / "experiment.json").write_text(json.dumps(data))
    with pytest.raises(LoadError, match=r"experiment.json.*seeds\[0\]"):
        load_plan(str(tmp_path))
    data["seeds"], data["kind"] = [0], "sweep"
    (tmp_path / "experiment.json").write_text(json.dumps(data))
    with pytest.raises(LoadError, match="kind"):
        load_plan(str(tmp_path))


def test_several_gpus_get_one_run_each_or_torchrun_per_run(tmp_path):
    assert device_slots(0, False) == [""]
    assert device_slots(1, False) == [""]
    assert device_slots(3, False) == ["cuda:0", "cuda:1", "cuda:2"]
    assert device_slots(4, True) == [""]  # each run spans all four GPUs
    cmd = run_command(str(tmp_path), "image-s0", "cuda:1")
    assert cmd[1:4] == ["-m", "mmstudio", "train"]
    assert cmd[cmd.index("--device") + 1] == "cuda:1"
    assert cmd[cmd.index("--out") + 1] == str(tmp_path / "runs" / "image-s0")
    assert "--resume" in cmd
    dist = run_command(str(tmp_path), "image-s0", "", procs=4)
    assert dist[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=4"]
    assert dist[5:7] == ["mmstudio", "train"]


# ---- the paired bootstrap --------------------------------------------------------------------


def test_bootstrap_of_identical_models_is_exactly_zero():
    a = np.array([1, 0, 1, 1, 0] * 100)
    assert paired_bootstrap(a, a) == (0.0, 0.0, 0.0)


def test_bootstrap_interval_matches_the_normal_approximation():
    """2,000 items: the better model alone is right on 100, the baseline alone on 40. The mean
    difference is 0.03 and its standard error sqrt((140/2000 - 0.03^2) / 2000) = 0.00588, so the
    95% interval is about 0.03 +- 0.0115; a bootstrap of 10,000 resamples lands within 0.0015."""
    better = np.zeros(2000)
    baseline = np.zeros(2000)
    better[:100] = 1
    baseline[100:140] = 1
    better[140:1700] = baseline[140:1700] = 1  # both right
    diff, low, high = paired_bootstrap(better, baseline)
    se = np.sqrt((140 / 2000 - 0.03**2) / 2000)
    assert diff == pytest.approx(0.03)
    assert low == pytest.approx(0.03 - 1.96 * se, abs=0.0015)
    assert high == pytest.approx(0.03 + 1.96 * se, abs=0.0015)
    assert low > 0  # the models disagree on 140 items, 100 to 40: a real difference


def test_pairing_is_by_item_not_by_position():
    """Two models right on exactly the same items are equal, however the items are listed; an
    unpaired comparison of the same accuracies could not tell that."""
    rng = np.random.default_rng(0)
    ids = [f"item{i}" for i in range(500)]
    right = rng.integers(0, 2, 500)
    order = rng.permutation(500)
    scores = [
        {"name": "a-s0", "config": "a", "seed": 0, "accuracy": right.mean(), "ids": ids, "correct": right.tolist()},
        {
            "name": "b-s0",
            "config": "b",
            "seed": 0,
            "accuracy": right.mean(),
            "ids": [ids[i] for i in order],
            "correct": right[order].tolist(),
        },
    ]
    g = gain(scores, "a", "b")
    assert (g.difference, g.low, g.high, g.items, g.seeds) == (0.0, 0.0, 0.0, 500, 1)


def _score(config: str, seed: int, acc: float, n: int = 100) -> dict:
    right = [1] * round(acc * n) + [0] * (n - round(acc * n))
    return {
        "name": f"{config}-s{seed}",
        "config": config,
        "seed": seed,
        "accuracy": acc,
        "ids": [str(i) for i in range(n)],
        "correct": right,
        "parameters": 1000,
        "train_seconds": 10.0,
        "modalities": config.split("-")[0],
    }


def test_ranked_table_means_and_spreads_over_seeds(tmp_path):
    scores = [_score("image", 0, 0.90), _score("image", 1, 0.94), _score("image+audio-concat", 0, 0.97)]
    scores.append(_score("image+audio-concat", 1, 0.99))
    table = ranked_table(scores)
    assert [r.config for r in table] == ["image+audio-concat", "image"]
    assert [r.rank for r in table] == [1, 2]
    assert table[0].accuracy == pytest.approx(0.98)
    assert table[0].spread == pytest.approx(np.std([0.97, 0.99], ddof=1), abs=1e-6)
    assert table[1].seeds == 2
    md = table_markdown(table)
    assert "| 1 | image+audio-concat | 0.9800 | 0.0141 | 2 |" in md
    path = export_table(table, str(tmp_path / "t.csv"))
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    assert lines[0].startswith("rank,configuration,test accuracy")
    assert lines[1].startswith("1,image+audio-concat,0.9800")
    with pytest.raises(ValueError, match="csv or .md"):
        export_table(table, str(tmp_path / "t.xlsx"))


def test_a_search_table_ranks_trials_by_validation_and_lists_their_settings():
    trials = []
    for n, (val, acc) in enumerate([(0.70, 0.69), (0.72, 0.68), (0.60, 0.61)]):
        s = _score(f"trial-{n:03d}", 0, acc)
        s.update(val=val, params=f"lr {n}", state="pruned" if n == 2 else "complete", modalities="text")
        trials.append(s)
    table = ranked_table(trials, by="val")
    assert [r.config for r in table] == ["trial-001", "trial-000", "trial-002"]
    md = table_markdown(table).splitlines()
    assert md[0] == "| rank | trial | state | val accuracy | test accuracy | train s | parameters | settings |"
    assert md[2] == "| 1 | trial-001 | complete | 0.7200 | 0.6800 | 10 | 1,000 | lr 1 |"
    assert "| pruned |" in md[4]
