"""`leaderboard --out/--json` replaces only what the leaderboard wrote: a hand-written or git-tracked page needs --force."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from synthetic_records import make_record, write_records

from benchmark import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return write_records(tmp_path / "runs", [make_record(150, 900, seed=s) for s in range(2)])


def _board(runs: Path, *extra: str) -> list[str]:
    return ["leaderboard", str(runs), *extra]


def test_a_hand_written_page_is_refused_in_one_line_and_kept(runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "README.md"
    page.write_text("# my study\n\nhand-written\n")
    assert cli.main(_board(runs, "--out", str(page))) == cli.EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: --out {page} exists and was not written by `leaderboard`") and "--force" in err
    assert page.read_text() == "# my study\n\nhand-written\n"
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": 1}\n')
    assert cli.main(_board(runs, "--json", str(notes))) == cli.EXIT_USER_ERROR
    assert "--json" in capsys.readouterr().err and notes.read_text() == '{"mine": 1}\n'
    assert cli.main(_board(runs, "--out", str(page), "--json", str(notes), "--force")) == 0
    assert page.read_text().startswith("# two-clocks leaderboard\n") and '"rows"' in notes.read_text()


def test_its_own_output_is_rewritten_without_force(runs: Path, tmp_path: Path) -> None:
    out, data = tmp_path / "board" / "leaderboard.md", tmp_path / "board" / "leaderboard.json"
    assert cli.main(_board(runs, "--out", str(out), "--json", str(data))) == 0
    first = out.read_text(), data.read_text()
    write_records(runs, [make_record(160, 950, seed=2)])
    assert cli.main(_board(runs, "--out", str(out), "--json", str(data))) == 0
    assert (out.read_text(), data.read_text()) != first and out.read_text().startswith("# two-clocks leaderboard\n")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_page_tracked_by_git_is_refused_even_when_the_leaderboard_wrote_it(runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "clone"
    out = repo / "leaderboard.md"
    assert cli.main(_board(runs, "--out", str(out))) == 0
    before = out.read_text()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "leaderboard.md"], cwd=repo, check=True)
    write_records(runs, [make_record(160, 950, seed=2)])
    assert cli.main(_board(runs, "--out", str(out))) == cli.EXIT_USER_ERROR
    assert "is tracked by git" in capsys.readouterr().err and out.read_text() == before
    assert cli.main(_board(runs, "--out", str(out), "--force")) == 0 and out.read_text() != before


def test_the_readme_example_writes_into_a_new_folder() -> None:
    line = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("python -m benchmark leaderboard "))
    targets = [line.split()[i + 1] for i, word in enumerate(line.split()) if word in ("--out", "--json")]
    assert targets and all(not (ROOT / target).exists() for target in targets)
