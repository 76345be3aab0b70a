"""Every bundled task honours the Task contract: valid in-range samples, seeded determinism, keys, satisfaction, errors."""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import tasks
from benchmark.core.config import ConfigError
from benchmark.core.registry import RegistryError

BUNDLED = ["automaton", "balanced", "latin_square", "parity", "rowcol_parity", "sudoku", "xor_code"]

CASES = [
    ("parity", {}),
    ("parity", {"G": 4, "layout": "random", "layout_seed": 3, "parity": "odd"}),
    ("parity", {"G": 36}),
    ("rowcol_parity", {}),
    ("rowcol_parity", {"G": 6}),
    ("xor_code", {}),
    ("xor_code", {"G": 7, "checks": 20, "code_seed": 5}),
    ("balanced", {}),
    ("balanced", {"G": 12, "layout": "random"}),
    ("automaton", {}),
    ("automaton", {"rule": 110, "height": 8, "width": 10}),
    ("automaton", {"radius": 2, "rule": 2_863_311_530, "width": 20}),
    ("sudoku", {}),
    ("sudoku", {"order": 9}),
    ("latin_square", {}),
    ("latin_square", {"order": 4}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in knobs.items()) or 'default'}" for name, knobs in CASES]


@pytest.fixture(params=CASES, ids=IDS)
def task(request) -> tasks.Task:
    name, knobs = request.param
    return tasks.get(name, **knobs)


def test_every_bundled_task_is_registered_and_lazy():
    assert set(BUNDLED) <= set(tasks.names())
    code = "import sys, tasks; tasks.names(); print(sorted(m for m in sys.modules if m.startswith('tasks.')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=pathlib.Path(__file__).parents[1])
    # Only the registry loads on `import tasks` (the contract lives in benchmark.core.task); no task family module is imported.
    assert eval(loaded.stdout) == []


def test_tasks_import_nothing_from_the_protocol():
    allowed_roots = {"numpy", "tasks", "__future__"} | set(sys.stdlib_module_names)
    for path in sorted(pathlib.Path(tasks.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                root = module.split(".")[0]
                assert root in allowed_roots or module.startswith("benchmark.core"), f"{path.name} imports {module}"  # the ground floor only


def test_samples_are_valid_in_range_and_uint8(task):
    x = task.sample(300, np.random.default_rng(0))
    assert x.shape == (300, *task.shape) and x.dtype == np.uint8
    assert x.min() >= 0 and x.max() < task.num_symbols
    assert task.is_valid(x).all()
    assert task.is_valid(x.astype(np.int64)).all()  # adapters hand back LongTensors
    np.testing.assert_array_equal(task.constraint_satisfaction(x), 1.0)


def test_sampling_is_deterministic_in_the_seed(task):
    first = task.sample(64, np.random.default_rng(7))
    again = task.sample(64, np.random.default_rng(7))
    other = task.sample(64, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    rebuilt = tasks.get(task.registered_name, **task.config.to_dict())
    np.testing.assert_array_equal(rebuilt.sample(64, np.random.default_rng(7)), first)


def test_satisfaction_is_one_exactly_on_valid_samples(task):
    rng = np.random.default_rng(1)
    valid = task.sample(200, rng)
    perturbed = valid.reshape(200, -1).copy()
    cell = rng.integers(0, task.size, size=200)
    perturbed[np.arange(200), cell] = (perturbed[np.arange(200), cell] + 1) % task.num_symbols
    uniform = rng.integers(0, task.num_symbols, size=(200, task.size), dtype=np.uint8)
    mixture = np.concatenate([valid.reshape(200, -1), perturbed, uniform]).reshape(-1, *task.shape)
    ok = task.is_valid(mixture)
    satisfaction = task.constraint_satisfaction(mixture)
    assert satisfaction.dtype.kind == "f" and ((satisfaction >= 0) & (satisfaction <= 1)).all()
    np.testing.assert_array_equal(satisfaction == 1.0, ok)
    assert not ok[200:].all(), "perturbing one symbol of every sample should break some"
    assert ok[400:].mean() <= task.chance_valid() * 10 + 0.05


def test_out_of_range_symbols_are_never_valid(task):
    x = task.sample(20, np.random.default_rng(2)).astype(np.int64)
    x.reshape(20, -1)[:10, 0] = task.num_symbols  # one symbol too large
    x.reshape(20, -1)[10:15, -1] = -1  # negative
    ok = task.is_valid(x)
    assert not ok[:15].any() and ok[15:].all()
    assert (task.constraint_satisfaction(x)[:15] < 1).all()
    keys = task.key(x)
    clean = task.key(task.sample(20, np.random.default_rng(2)))
    assert not np.isin(keys[:15], clean).any()
    # In-range samples keep their key whatever else is in the batch (as numpy values and as Python bytes).
    assert (keys[15:] == clean[15:]).all() and keys[15:].tolist() == clean[15:].tolist()


def test_keys_match_equal_samples_and_separate_distinct_ones(task):
    x = task.sample(400, np.random.default_rng(3))
    keys = task.key(x)
    assert len(keys) == 400 and keys.dtype.kind == "S"
    np.testing.assert_array_equal(task.key(x.copy().astype(np.int64)), keys)
    distinct_rows = len(np.unique(x.reshape(400, -1), axis=0))
    assert len(np.unique(keys)) == distinct_rows
    shuffled = x[::-1]
    assert (task.key(shuffled) == keys[::-1]).all()


def test_describe_is_json_and_consistent(task):
    record = json.loads(json.dumps(task.describe()))
    assert record["name"] == task.registered_name
    assert record["shape"] == list(task.shape)
    assert 0 < record["chance_valid"] <= 1
    assert record["num_valid"] == pytest.approx(float(task.num_valid()))
    assert task.chance_valid() == pytest.approx(task.num_valid() / task.num_symbols**task.size, rel=1e-9)
    assert task.complexity > 0


def test_empty_batches_work(task):
    empty = np.zeros((0, *task.shape), dtype=np.uint8)
    assert task.is_valid(empty).shape == (0,)
    assert task.constraint_satisfaction(empty).shape == (0,)
    assert task.key(empty).shape == (0,)
    assert task.sample(0, np.random.default_rng(0)).shape == (0, *task.shape)


def test_wrong_shapes_and_dtypes_are_rejected():
    task = tasks.get("parity")
    with pytest.raises(ValueError, match=r"shape \(n, 6, 6\)"):
        task.is_valid(np.zeros((3, 5, 6), dtype=np.uint8))
    with pytest.raises(ValueError, match="integer symbols"):
        task.is_valid(np.zeros((3, 6, 6), dtype=np.float32))


@pytest.mark.parametrize(
    "name, knobs, message",
    [
        ("parity", {"G": 5}, r"ParityConfig\.G must be a divisor of height\*width=36 \(allowed: 1, 2, 3, 4, 6, 9, 12, 18, 36\), got 5"),
        ("parity", {"G": 0}, r"ParityConfig\.G must be a divisor"),
        ("parity", {"height": -2}, r"ParityConfig\.height must be an integer in 1\.\.256, got -2"),
        ("parity", {"width": 0}, r"ParityConfig\.width must be an integer in 1\.\.256, got 0"),
        ("parity", {"layout": "spiral"}, r"ParityConfig\.layout must be one of contiguous, random, got 'spiral'"),
        ("parity", {"parity": "none"}, r"ParityConfig\.parity must be one of even, odd, got 'none'"),
        ("parity", {"layout_seed": -1}, r"ParityConfig\.layout_seed must be a non-negative integer"),
        ("parity", {"G": "two"}, r"ParityConfig\.G must be an integer, got 'two'"),
        ("rowcol_parity", {"G": 4}, r"RowColParityConfig\.G must divide both height=6 and width=6 \(allowed: 1, 2, 3, 6\), got 4"),
        ("rowcol_parity", {"height": -1}, r"RowColParityConfig\.height must be an integer in 1\.\.256"),
        ("xor_code", {"G": 37}, r"XorCodeConfig\.G must be an integer in 1\.\.height\*width=36, got 37"),
        ("xor_code", {"checks": -1}, r"XorCodeConfig\.checks must be an integer in 0\.\.height\*width=36"),
        ("balanced", {"G": 3}, r"BalancedConfig\.G must be an even divisor of height\*width=36 \(allowed: 2, 4, 6, 12, 18, 36\), got 3"),
        ("automaton", {"rule": 256}, r"AutomatonConfig\.rule must be a Wolfram code in 0\.\.255 for radius 1, got 256"),
        ("automaton", {"radius": 4}, r"AutomatonConfig\.radius must be an integer in 1\.\.3, got 4"),
        ("automaton", {"radius": 3, "width": 6, "rule": 1}, r"AutomatonConfig\.width must be at least 2\*radius\+1=7, got 6"),
        ("automaton", {"height": 1}, r"AutomatonConfig\.height must be at least 2"),
        ("sudoku", {"order": 5}, r"SudokuConfig\.order must be one of 4, 9, got 5"),
        ("latin_square", {"order": 12}, r"LatinSquareConfig\.order must be an integer in 1\.\.11, got 12"),
        ("latin_square", {"order": -3}, r"LatinSquareConfig\.order must be an integer in 1\.\.11, got -3"),
    ],
)
def test_bad_configs_raise_config_errors_naming_field_and_allowed_values(name, knobs, message):
    with pytest.raises(ConfigError, match=message):
        tasks.get(name, **knobs)


def test_unknown_task_and_unknown_knob_are_clear_errors():
    with pytest.raises(RegistryError, match=r"unknown task 'partiy'; did you mean 'parity'\?.*known: .*latin_square.*sudoku"):
        tasks.get("partiy")
    with pytest.raises(ConfigError, match=r"unknown knob 'layuot' for ParityConfig; did you mean 'layout'\?.*allowed: G, height, width"):
        tasks.get("parity", layuot="random")
    with pytest.raises(ConfigError, match=r"unknown knob 'size' for SudokuConfig.*allowed: order"):
        tasks.get("sudoku", size=9)


def test_cli_strings_are_coerced():
    task = tasks.get("parity", G="4", layout="random", layout_seed="2")
    assert task.complexity == 4.0 and task.groups.shape == (9, 4)
