"""The protocol's parts: eval schedules, batch sampling and its resume, training/control sets, the run directory."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tasks
from benchmark.core.config import ConfigError
from benchmark.run.batches import BatchSampler
from benchmark.run.datasets import derived_seed, draw_distinct, draw_sets
from benchmark.run.rundir import METRICS_FILE, MetricsLog, load_metrics, prepare
from benchmark.run.schedule import eval_steps
from benchmark.run.spec import resolve_spec


@pytest.mark.parametrize("max_steps, points", [(2000, 30), (100_000, 30), (300, 30), (60, 30), (35, 30), (2000, 1), (2000, 2)])
@pytest.mark.parametrize("schedule", ["log", "linear"])
def test_schedules_start_at_zero_end_at_max_and_have_distinct_points(max_steps, points, schedule):
    steps = eval_steps(max_steps, points, schedule)
    assert steps[0] == 0 and steps[-1] == max_steps
    assert len(steps) == points + 1 and np.all(np.diff(steps) >= 1)
    assert steps.dtype == np.int64


def test_log_schedule_is_geometric_where_it_can_be():
    steps = eval_steps(2000, 30, "log")[1:].astype(float)
    ratios = steps[1:] / steps[:-1]
    assert steps[1] - steps[0] == 1  # starts as early as distinct points allow
    # Away from integer rounding near the start, consecutive ratios are all (2000/start)^(1/29).
    assert np.allclose(ratios[10:], (2000 / steps[0]) ** (1 / 29), rtol=0.02)
    linear = eval_steps(3000, 30, "linear")
    assert np.all(np.diff(linear) == 100)


def test_short_runs_evaluate_every_step():
    assert eval_steps(10, 30, "log").tolist() == list(range(11))
    assert eval_steps(10, 30, "linear").tolist() == list(range(11))


@pytest.mark.parametrize("mode", ["epochs", "replacement"])
def test_batch_sampler_resumes_bit_for_bit(mode):
    sampler = BatchSampler(n=10, batch_size=4, mode=mode, seed=3)
    [sampler.next() for _ in range(5)]
    state = sampler.state_dict()
    expected = [sampler.next() for _ in range(7)]
    resumed = BatchSampler(n=10, batch_size=4, mode=mode, seed=999)
    resumed.load_state_dict(state)
    for want, got in zip(expected, (resumed.next() for _ in range(7))):
        np.testing.assert_array_equal(want, got)


def test_epoch_batching_sees_every_sample_once_per_epoch_across_batch_boundaries():
    sampler = BatchSampler(n=10, batch_size=4, mode="epochs", seed=0)
    stream = np.concatenate([sampler.next() for _ in range(15)])  # 60 indices = 6 epochs
    for epoch in stream.reshape(6, 10):
        assert sorted(epoch) == list(range(10))
    large = BatchSampler(n=3, batch_size=7, mode="epochs", seed=0).next()  # B > N spans epochs
    assert len(large) == 7 and np.bincount(large[:6], minlength=3).tolist() == [2, 2, 2]


def test_training_and_control_sets_are_distinct_valid_and_disjoint():
    task = tasks.get("parity", G=2, height=2, width=4)  # 16 valid grids
    train, control, disjoint = draw_sets(task, 8, seed=0)
    assert disjoint and task.is_valid(train).all() and task.is_valid(control).all()
    train_keys, control_keys = set(task.key(train).tolist()), set(task.key(control).tolist())
    assert len(train_keys) == 8 and len(control_keys) == 8 and not train_keys & control_keys
    again, _, _ = draw_sets(task, 8, seed=0)
    np.testing.assert_array_equal(train, again)
    other, _, _ = draw_sets(task, 8, seed=1)
    assert not np.array_equal(train, other)


def test_control_set_falls_back_to_independent_draws_on_tiny_valid_sets():
    task = tasks.get("parity", G=2, height=2, width=4)  # 16 valid grids: a disjoint control of 12 is impossible
    train, control, disjoint = draw_sets(task, 12, seed=0)
    assert not disjoint
    assert len(set(task.key(train).tolist())) == 12 and len(set(task.key(control).tolist())) == 12
    full, _, _ = draw_sets(task, 16, seed=0)  # the whole valid set, by coupon collecting
    assert len(set(task.key(full).tolist())) == 16


def test_n_train_above_the_valid_set_is_a_config_error():
    task = tasks.get("parity", G=2, height=2, width=4)
    with pytest.raises(ConfigError, match="n_train must be at most the number of valid samples.*16.*got 17"):
        draw_sets(task, 17, seed=0)


def test_draw_distinct_without_duplicates_is_the_plain_sampler():
    task = tasks.get("parity", G=4)
    drawn = draw_distinct(task, 50, np.random.default_rng(5))
    np.testing.assert_array_equal(drawn, task.sample(50, np.random.default_rng(5)))


def test_derived_seeds_differ_by_stream_and_seed():
    seeds = {derived_seed(s, name) for s in range(3) for name in ("train", "control", "batches", "adapter")}
    assert len(seeds) == 12 and all(0 <= s < 2**63 for s in seeds)


def test_metrics_log_keeps_only_the_resumed_rows_and_load_skips_a_torn_line(tmp_path):
    (tmp_path / METRICS_FILE).write_text('{"step": 0}\n{"step": 5}\n{"step": 9}\n{"st')
    assert [row["step"] for row in load_metrics(tmp_path)] == [0, 5, 9]
    with MetricsLog(tmp_path, [{"step": 0}, {"step": 5}]) as log:
        log.append({"step": 7})
    assert [row["step"] for row in load_metrics(tmp_path)] == [0, 5, 7]
    assert load_metrics(tmp_path / "absent") == []


def test_a_directory_holding_another_spec_is_refused(tmp_path):
    spec = resolve_spec("parity", {}, "uniform", {}, 8, 0)
    prepare(tmp_path, spec)
    prepare(tmp_path, spec)  # the same spec again is fine
    other = resolve_spec("parity", {}, "uniform", {}, 8, 1)
    with pytest.raises(ValueError, match="different spec"):
        prepare(tmp_path, other)
    assert json.loads((tmp_path / "spec.json").read_text()) == json.loads(json.dumps(spec.to_dict()))


def test_check_spec_validates_a_sweep_without_building_adapters(monkeypatch):
    import dataclasses

    import benchmark.run.protocol as protocol

    monkeypatch.setattr(protocol, "build_adapter", lambda *a, **k: pytest.fail("check_spec must not build adapters"))
    protocol.check_spec(resolve_spec("parity", {"G": 2, "height": 2, "width": 2}, "memorizer", {}, 4, 0))
    with pytest.raises(ConfigError, match="n_train must be at most"):
        protocol.check_spec(resolve_spec("parity", {"G": 2, "height": 2, "width": 2}, "memorizer", {}, 5, 0))
    spec = resolve_spec("parity", {}, "memorizer", {}, 8, 0)
    stale = dataclasses.replace(spec, task=dataclasses.replace(spec.task, version=99))
    with pytest.raises(ConfigError, match="version 99"):
        protocol.check_spec(stale)


def test_git_commit_is_read_from_this_checkout_only(tmp_path):
    import re

    from benchmark.run.environment import PACKAGE_ROOT, git_commit

    assert git_commit(tmp_path) is None
    commit = git_commit(PACKAGE_ROOT)
    if (PACKAGE_ROOT / ".git").exists():
        assert commit is not None and re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit)


def test_a_record_names_the_commit_its_process_loaded_not_head_when_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """A study block commits earlier blocks' records while it runs: HEAD moves, the code that runs does not."""
    from benchmark.run import environment

    monkeypatch.setattr(environment, "git_commit", lambda root=environment.PACKAGE_ROOT: "f" * 40)  # HEAD moved after import
    assert environment.describe_environment("cpu")["git_commit"] == environment.LOADED_COMMIT != "f" * 40
