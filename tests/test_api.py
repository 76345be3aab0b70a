"""The Python API: the README's notebook example runs as written; run_sweep takes a YAML path and reports failures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import benchmark
from benchmark.core.records import Record

ROOT = Path(__file__).resolve().parent.parent


def _readme_example() -> str:
    section = (ROOT / "README.md").read_text().split("<!-- section: api -->", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return example


def test_readme_notebook_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_readme_example(), "README.md (Python API)", "exec"), namespace)
    records = namespace["records"]
    assert len(records) == 4 and all(isinstance(record, Record) for record in records)
    out = capsys.readouterr().out
    assert all(record.run_id in out for record in records)
    assert "| memorizer " in out and "| gpt " in out  # the compact table
    assert len(list((tmp_path / "runs" / "notebook").glob("*/record.json"))) == 4


def test_run_sweep_reads_a_yaml_path_and_skips_finished_runs(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text("tasks: [parity]\nadapters: [memorizer, oracle]\nn: [16]\nprotocol: {max_steps: 10, eval_points: 2, eval_samples: 32}\n")
    first = benchmark.run_sweep(path, output=tmp_path / "runs")
    again = benchmark.run_sweep(str(path), output=tmp_path / "runs", seeds=[0])
    assert [r.adapter_name for r in first] == ["memorizer", "oracle"] and [r.to_dict() for r in again] == [r.to_dict() for r in first]
    from_mapping = benchmark.run_sweep({"tasks": ["parity"], "adapters": ["memorizer"], "n": [16], "protocol": {"max_steps": 10, "eval_points": 2, "eval_samples": 32}}, output=tmp_path / "runs")
    assert from_mapping[0].run_id == first[0].run_id
    assert "| memorizer" in benchmark.render_leaderboard(tmp_path / "runs")
    assert benchmark.render_leaderboard(first, wide=True).startswith("# two-clocks leaderboard")


def test_a_failed_run_raises_with_the_finished_records(tmp_path: Path) -> None:
    import adapters
    from adapters.baselines import UniformAdapter

    class FailingAdapter(UniformAdapter):
        """Raises on its first training step."""

        def train_step(self, batch):  # noqa: ANN001
            raise RuntimeError("told to fail")

    adapters.register_adapter("api_failing")(FailingAdapter)
    sweep = dict(tasks=["parity"], adapters=["memorizer", "api_failing"], n=[16], protocol={"max_steps": 5, "eval_points": 1, "eval_samples": 16}, output=tmp_path)
    try:
        with pytest.raises(benchmark.SweepFailed) as caught:
            benchmark.run_sweep(**sweep)
        assert [r.adapter_name for r in caught.value.records] == ["memorizer"]
        assert "told to fail" in caught.value.failures[0].error
        assert [r.adapter_name for r in benchmark.run_sweep(**sweep, raise_on_failure=False)] == ["memorizer"]
    finally:
        adapters.ADAPTERS.unregister("api_failing")
