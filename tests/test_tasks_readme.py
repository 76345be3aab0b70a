"""The README's task examples run as written: the usage snippet and the one-file task."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).parents[1]


def readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("<!-- section: tasks -->", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def run(code: str, cwd: pathlib.Path) -> str:
    env_path = f"{cwd}:{ROOT}"
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env={"PYTHONPATH": env_path, "PATH": ""})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_usage_snippet_runs():
    usage, _ = readme_python_blocks()
    run(usage, ROOT)


def test_one_file_task_example_works(tmp_path):
    _, example = readme_python_blocks()
    package = tmp_path / "my_tasks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "sorted_rows.py").write_text(example)
    check = textwrap.dedent("""
        import itertools, numpy as np, tasks
        import my_tasks.sorted_rows
        task = tasks.get("sorted_rows", height=2, width=3)
        arrays = np.array(list(itertools.product([0, 1], repeat=6)), dtype=np.uint8).reshape(-1, 2, 3)
        reference = np.array([all(list(row) == sorted(row) for row in a) for a in arrays])
        assert (task.is_valid(arrays) == reference).all() and task.num_valid() == reference.sum() == 16
        x = task.sample(1000, np.random.default_rng(0))
        assert task.is_valid(x).all() and (task.constraint_satisfaction(x) == 1).all()
        assert type(tasks.get("my_tasks.sorted_rows:SortedRowsTask")).__name__ == "SortedRowsTask"
        print("ok")
    """)
    assert run(check, tmp_path).strip() == "ok"
