"""Print the numbers the claims table of leaderboard/README.md quotes, from leaderboard.json and the run records.

    python leaderboard/claims_numbers.py            (after rendering leaderboard/leaderboard.json)
"""

from __future__ import annotations

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def clock(summary: dict) -> str:
    """Median [low, high] with '>' for censored bounds, as the leaderboard shows it."""
    mark = lambda censored: ">" if censored else ""  # noqa: E731
    text = f"{mark(summary['censored'])}{summary['median']:.0f}"
    if summary["runs"] > 1 and summary["low"] != summary["high"]:
        text += f" [{mark(summary['low_censored'])}{summary['low']:.0f}, {mark(summary['high_censored'])}{summary['high']:.0f}]"
    return text


def peak_novel_valid(run_ids: list[str]) -> str:
    """Highest novel-valid fraction over each run's evals (the innovation actually seen), median over seeds."""
    peaks = []
    for run_id in run_ids:
        rows = [json.loads(line) for line in (ROOT / "runs" / run_id / "metrics.jsonl").read_text().splitlines() if line.strip()]
        peaks.append(max(row["novel_valid"] for row in rows))
    peaks.sort()
    return f"{peaks[len(peaks) // 2]:.2f}"


def main() -> None:
    board = json.loads((ROOT / "leaderboard.json").read_text())
    print("adapter | G | N | seeds | tau_rule | tau_mem | tau_mem (epochs) | log-window | status | peak novel-valid")
    for row in board["rows"]:
        depth = row["adapter_config"]["depth"]
        window = row["window"]
        log_window = "—" if window["log_window"] is None else f"{window['log_window']:+.2f}"
        print(
            f"{row['adapter']}{depth}x{row['adapter_config']['width']} | {row['task_config']['G']} | {row['n_train']} | {len(row['seeds'])} | "
            f"{clock(row['tau_rule'])} | {clock(row['tau_mem'])} | {clock(row['tau_mem_epochs'])} | {log_window} | "
            f"{window['status']} {window['status_counts']} | {peak_novel_valid(row['run_ids'])}"
        )
    print()
    for fit in board["scaling"]["tau_mem_vs_n"]:
        f = fit["fit"]
        slope = "—" if f["slope"] is None else f"{f['slope']:.2f}"
        interval = "" if f["low"] is None else f" [{f['low']:.2f}, {f['high']:.2f}]"
        print(f"alpha {fit['adapter_label']} G={fit['task_config']['G']}: {slope}{interval} ({f['points_used']} runs, {f['points_censored']} censored)")
    for fit in board["scaling"]["tau_rule_vs_complexity"]:
        f = fit["fit"]
        slope = "—" if f["slope"] is None else f"{f['slope']:.2f}"
        interval = "" if f["low"] is None else f" [{f['low']:.2f}, {f['high']:.2f}]"
        ratio = "" if f["slope"] is None else f" (x{math.pow(10, f['slope']):.2f} per unit G)"
        print(f"beta {fit['adapter_label']} N={fit['n_train']}: {slope}{interval}{ratio} ({f['points_used']} runs, {f['points_censored']} censored)")


if __name__ == "__main__":
    main()
