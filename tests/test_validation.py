"""Validation before training, for everything: each bad input is one `error:` line, exit 2, nothing trained."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.core.config import ConfigError, build_config
from benchmark.run.spec import ProtocolConfig, resolve_spec
from tests.test_cli_errors import fails_with


@pytest.fixture
def base(tmp_path: Path) -> list[str]:
    return ["run", "--n", "8", "--output", str(tmp_path / "runs"), "--max-steps", "5"]


@pytest.mark.parametrize(
    "adapter, fragment",
    [
        ("gpt:lr=inf", "GPTConfig.lr must be a finite number, got inf"),
        ("gpt:lr=1e309", "GPTConfig.lr must be a finite number, got inf"),
        ("gpt:lr=nan", "GPTConfig.lr must be a number, got nan"),
        ("dit:sigma_max=inf", "DiTConfig.sigma_max must be a finite number, got inf"),
        ("dit:p_mean=nan", "DiTConfig.p_mean must be a number, got nan"),
        ("gpt:depth=10000000000", "GPTConfig.depth must be at most 256, got 10000000000"),
        ("dit:patch_size=5", "DiTConfig.patch_size must divide the grid side 6 (allowed: 1, 2, 3, 6), got 5"),
        ("memorizer:batch_size=100000000000000000000", "AdapterConfig.batch_size must be at most 1048576"),
    ],
)
def test_adapter_knobs_that_cannot_train_are_refused(base: list[str], capsys: pytest.CaptureFixture[str], adapter: str, fragment: str) -> None:
    fails_with([*base, "--tasks", "parity", "--adapters", adapter, "--dry-run"], capsys, fragment)


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--eval-samples", str(10**12)], "ProtocolConfig.eval_samples must be at most 1000000, got 1000000000000"),
        (["--max-steps", str(10**31)], "ProtocolConfig.max_steps must be at most 1000000000"),
        (["--protocol-args", "eval_points=100000"], "ProtocolConfig.eval_points must be at most 1000, got 100000"),
        (["--protocol-args", "theta_rule=nan"], "ProtocolConfig.theta_rule must be a number, got nan"),
        (["--protocol-args", "threads=0"], "ProtocolConfig.threads must be a positive integer, got 0"),
        (["--protocol-args", "threads=100000"], "ProtocolConfig.threads must be at most 256"),
        (["--protocol-args", "sampling_seed=-1"], "ProtocolConfig.sampling_seed must be at least 0"),
    ],
)
def test_protocol_knobs_out_of_bounds_are_refused(base: list[str], capsys: pytest.CaptureFixture[str], flags: list[str], fragment: str) -> None:
    fails_with([*base, "--tasks", "parity", "--adapters", "memorizer", *flags], capsys, fragment)


@pytest.mark.parametrize(
    "task, fragment",
    [
        ("parity:height=10000000000", "ParityConfig.height must be an integer in 1..256, got 10000000000"),
        ("parity:height=10000000000,G=7", "ParityConfig.height must be an integer in 1..256"),  # no divisor enumeration of 6·10¹⁰ cells
        ("xor_code:width=100000", "XorCodeConfig.width must be an integer in 1..256"),
        ("parity:layout_seed=100000000000000000000", "ParityConfig.layout_seed must be an integer within int64"),
        ("parity:G", "cannot import module 'parity' for 'parity:G'"),
        ("os:system", "'os:system' resolved to <built-in function system>, which is not a tasks.Task subclass"),
        ("benchmark.cli:main", "which is not a tasks.Task subclass"),
        ("benchmark.cli:UsageError", "which is not a tasks.Task subclass"),
        ("no_such_module_anywhere:Task", "cannot import module 'no_such_module_anywhere'"),
    ],
)
def test_task_names_and_sizes_are_refused(base: list[str], capsys: pytest.CaptureFixture[str], task: str, fragment: str) -> None:
    fails_with([*base, "--tasks", task, "--adapters", "memorizer"], capsys, fragment)


def test_adapter_names_that_are_not_adapter_classes_are_refused(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    fails_with([*base, "--tasks", "parity", "--adapters", "os:system"], capsys, "which is not an adapters.Adapter subclass")
    fails_with([*base, "--tasks", "parity", "--adapters", "tasks.parity:ParityTask"], capsys, "which is not an adapters.Adapter subclass")


def test_a_huge_integer_in_an_error_is_shown_short() -> None:
    with pytest.raises(ConfigError, match=r"sampling_seed must be an integer within int64 \(\|value\| < 2\*\*63\), got an integer of 16610 bits"):
        build_config(ProtocolConfig, {"sampling_seed": 10**5000})


def test_tuple_knobs_are_checked_item_by_item() -> None:
    from benchmark.analysis.basins import BasinConfig

    with pytest.raises(ConfigError, match="BasinConfig.sigmas must be a finite number, got inf"):
        build_config(BasinConfig, {"sigmas": "0.1,inf"})
    with pytest.raises(ConfigError, match="BasinConfig.sigmas must be a comma-separated tuple"):
        BasinConfig(sigmas={"a": 1}).validate()  # type: ignore[arg-type]


def test_aliases_of_one_class_give_one_run_id() -> None:
    short = resolve_spec("parity", {}, "memorizer", {}, 8, 0)
    by_path = resolve_spec("tasks.parity:ParityTask", {"G": 2}, "adapters.baselines:MemorizerAdapter", {}, 8, 0)
    assert by_path == short and by_path.run_id == short.run_id
    assert (by_path.task.name, by_path.adapter.name) == ("parity", "memorizer")


def test_an_unregistered_class_is_named_by_the_module_that_defines_it() -> None:
    spec = resolve_spec("parity", {}, "tests.test_protocol:NoisyBernoulli", {}, 8, 0)
    assert spec.adapter.name == "tests.test_protocol:NoisyBernoulli"


def test_the_thread_count_is_part_of_the_spec() -> None:
    one = resolve_spec("parity", {}, "memorizer", {}, 8, 0)
    two = resolve_spec("parity", {}, "memorizer", {}, 8, 0, {"threads": 2})
    assert one.protocol.threads == 1 and one.run_id != two.run_id


@pytest.mark.parametrize("device", ["meta", "xla", "cpu:x", "cuda:99", "", "auto:1"])
def test_devices_a_run_cannot_train_on_are_refused(base: list[str], capsys: pytest.CaptureFixture[str], device: str) -> None:
    fails_with([*base, "--tasks", "parity", "--adapters", "memorizer", "--device", device], capsys, "device")


def test_sizes_that_would_not_fit_in_memory_are_refused(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    fails_with([*base, "--tasks", "parity:height=256,width=256", "--adapters", "memorizer"], capsys, "height*width must be at most 4096 cells")
    fails_with(
        [*base, "--tasks", "parity:height=64,width=64", "--adapters", "memorizer", "--n", "1000000", "--eval-samples", "1000000"],
        capsys,
        "GiB for its samples alone",
        "more than half of this machine's",
    )


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("tasks: " + "[" * 500 + "]" * 500, "nested too deeply (a sweep file nests at most 32 levels)"),
        ("tasks: " + "{a: " * 300 + "1" + "}" * 300, "nested too deeply"),
        ("tasks: [parity]\nadapters: [memorizer]\nn: [8]\nseeds: &s [*s]\n", "a cycle"),
        ("n: " + "1" * 5000, "malformed YAML: Exceeds the limit"),
        ("n: !!float abc", "malformed YAML: could not convert string to float"),
        ("tasks: [parity]\nadapters: [memorizer]\nn: [8]\nprotocol: {1: 2}\n", "knob names of ProtocolConfig are strings, got 1"),
        ("tasks: [{parity: {G: .nan}}]\nadapters: [memorizer]\nn: [8]\n", "ParityConfig.G must be an integer, got nan"),
        ("tasks: [{parity: {G: [2, 4]}}]\nadapters: [memorizer]\nn: [8]\nseeds: [" + ", ".join(map(str, range(60000))) + "]\n", "the sweep has 120,000 runs"),
        ("tasks: [os:system]\nadapters: [memorizer]\nn: [8]\n", "which is not a tasks.Task subclass"),
        ("tasks: [{'os:system': {}}]\nadapters: [memorizer]\nn: [8]\n", "which is not a tasks.Task subclass"),
    ],
)
def test_malformed_sweep_files_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragment: str) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    fails_with(["run", "--config", str(path), "--output", str(tmp_path / "runs")], capsys, fragment)


def test_an_unreachable_ray_cluster_is_one_line_within_seconds(base: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import time

    pytest.importorskip("ray")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    start = time.monotonic()
    fails_with([*base, "--tasks", "parity", "--adapters", "memorizer", "--backend", "ray"], capsys, f"cannot reach the Ray cluster at RAY_ADDRESS=127.0.0.1:{port}")
    assert time.monotonic() - start < 30
    monkeypatch.setenv("RAY_ADDRESS", "not an address")
    fails_with([*base, "--tasks", "parity", "--adapters", "memorizer", "--backend", "ray"], capsys, "is not host:port")


def test_an_interrupted_ray_sweep_cancels_its_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a stand-in for ray: interrupted while waiting, every task not yet returned is cancelled (force: its process ends)."""
    import sys
    import types

    from benchmark.sweep import backends

    cancelled: list[tuple[object, bool]] = []

    class Remote:
        def __init__(self, fn):
            self.fn, self.count = fn, 0

        def options(self, **kwargs):
            return self

        def remote(self, *args):
            self.count += 1
            return f"ref{self.count}"

    def wait(refs, num_returns):
        raise KeyboardInterrupt

    fake = types.SimpleNamespace(
        is_initialized=lambda: True, cluster_resources=dict, remote=lambda **kw: Remote, wait=wait,
        cancel=lambda ref, force: cancelled.append((ref, force)), get=lambda ref: None,
    )  # fmt: skip
    monkeypatch.setitem(sys.modules, "ray", fake)
    specs = [resolve_spec("parity", {}, "memorizer", {}, 8, seed) for seed in (0, 1)]
    with pytest.raises(KeyboardInterrupt):
        backends.run_ray(specs, backends.RunOptions(output=str(tmp_path)), report=lambda line: None)
    assert cancelled == [("ref1", True), ("ref2", True)]


def test_an_output_path_that_is_not_a_path_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails_with(["run", "--tasks", "parity", "--adapters", "memorizer", "--n", "8", "--output", "runs\x00x"], capsys, "output path")


def test_a_plugin_that_reuses_a_bundled_name_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plugin = tmp_path / "shadow.py"
    plugin.write_text("from tasks import register_task\nfrom tasks.parity import ParityTask\n\n@register_task('parity')\nclass Shadow(ParityTask):\n    pass\n")
    fails_with(["list", "tasks", "--include", str(plugin)], capsys, "task 'parity' is already registered (tasks.parity:ParityTask): register yours under another name")
