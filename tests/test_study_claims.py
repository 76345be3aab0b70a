"""leaderboard/v2/study.py (study 2.0): its comparison rules on values with known answers, and the published README block it prints."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from benchmark.core.records import load_records
from benchmark.report import leaderboard

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("study", ROOT / "leaderboard" / "v2" / "study.py")
study = importlib.util.module_from_spec(SPEC)
sys.modules["study"] = study  # dataclasses look their module up by name
SPEC.loader.exec_module(study)
V = study.Value


def test_separation_needs_every_run_beyond_every_other() -> None:
    assert study.compare([V(100), V(120), V(130)], [V(200), V(210), V(400)]) == "<"
    assert study.compare([V(200), V(210), V(400)], [V(100), V(120), V(130)]) == ">"
    assert study.compare([V(100), V(220), V(130)], [V(200), V(210), V(400)]) == "~"  # one run overlaps
    assert study.compare([V(100)], []) == "?" and study.compare([V(None)], [V(3)]) == "?"


def test_a_censored_clock_is_a_lower_bound() -> None:
    """'> 2000' lies above 1500 but not above 2500, and is never below anything."""
    assert study.compare([V(1000), V(1200), V(1500)], [V(2000, True)] * 3) == "<"
    assert study.compare([V(1000), V(2500), V(1500)], [V(2000, True)] * 3) == "~"
    assert study.compare([V(2000, True)] * 3, [V(5000)] * 3) == "~"
    assert study.compare([V(2000, True)] * 3, [V(1500, True)] * 3) == "?"  # both censored: no order
    assert study.median([V(2000, True)] * 3).bound and not study.median([V(1), V(2), V(2000, True)]).bound


def test_separation_probability_is_exact() -> None:
    """3 runs against 3 exchangeable runs: all of one below all of the other with probability 1/20 per direction."""
    assert study.SEPARATION_P == pytest.approx(0.05)
    import itertools

    orders = list(itertools.combinations(range(6), 3))
    assert sum(set(a) == {0, 1, 2} for a in orders) / len(orders) == pytest.approx(study.SEPARATION_P)


def test_verdict_rules() -> None:
    assert study._verdict_from_tests(["<", "<"], "<")[0] == "reproduced"
    assert study._verdict_from_tests(["<", ">"], "<")[0] == "not reproduced"
    assert study._verdict_from_tests(["<", "~"], "<")[0] == "inconclusive"
    assert study._verdict_from_tests(["?"], "<")[0] == "not testable at this scale"


RUNS = ROOT / "leaderboard" / "v2" / "runs"


@pytest.mark.skipif(not any(RUNS.glob("*/record.json")), reason="the study's runs are not in this checkout")
def test_readme_block_is_what_the_script_prints() -> None:
    """Every number of the claims section in leaderboard/v2/README.md comes from study.py on the committed records."""
    records = load_records([RUNS])
    body = study.claims_markdown(records, leaderboard.build(records), load_records([study.EARLIER]))
    text = (ROOT / "leaderboard" / "v2" / "README.md").read_text()
    block = re.search(r"<!-- generated: claims .*?-->\n(.*?)\n<!-- /generated -->", text, re.S)
    assert block is not None and block.group(1) == body
    for claim in study.all_claims(records, leaderboard.build(records), load_records([study.EARLIER])):
        assert claim.verdict in {"reproduced", "not reproduced", "inconclusive", "not testable at this scale"}
        assert claim.reason and claim.evidence


# --- the claim rules on synthetic records with known answers ---------------------------------------------

from synthetic_records import make_record  # noqa: E402

GPT = {"depth": 4, "width": 64}
DIT = {"depth": 4, "width": 64}


def _cell(adapter: str, tau_rule, tau_mem=None, *, knobs=None, G: int = 3, n="stream", max_steps: int = 2000) -> list:
    return [make_record(tau_rule, tau_mem, seed=s, n_train=n, G=G, adapter=adapter, adapter_knobs=knobs or (GPT if adapter == "gpt" else DIT), max_steps=max_steps) for s in range(3)]


def test_c6_reproduced_when_only_the_autoregressive_model_learns() -> None:
    records = _cell("gpt", 1000) + _cell("dit", None)
    claim = study.claim_c6(records)
    assert claim.verdict == "reproduced" and "0 of 3 diffusion runs" in claim.reason


def test_c6_not_reproduced_when_diffusion_learns_too() -> None:
    assert study.claim_c6(_cell("gpt", 1000) + _cell("dit", 500)).verdict == "not reproduced"
    assert study.claim_c6(_cell("gpt", 1000)).verdict == "not testable at this scale"


def test_c1_reads_the_order_of_complexities() -> None:
    later = _cell("gpt", 100, G=2) + _cell("gpt", 1000, G=3)
    assert study.claim_c1(later).verdict == "reproduced"
    assert study.claim_c1(_cell("gpt", 1000, G=2) + _cell("gpt", 100, G=3)).verdict == "not reproduced"
    assert study.claim_c1(_cell("gpt", None, G=2) + _cell("gpt", None, G=3)).verdict == "not testable at this scale"


def test_c2_deeper_learns_first() -> None:
    records = _cell("gpt", None, knobs={"depth": 1, "width": 64}) + _cell("gpt", 900, knobs={"depth": 4, "width": 64})
    assert study.claim_c2(records).verdict == "reproduced"
    records = _cell("gpt", 400, knobs={"depth": 1, "width": 64}) + _cell("gpt", 900, knobs={"depth": 4, "width": 64})
    assert study.claim_c2(records).verdict == "not reproduced"


def test_c3a_window_area_grows_with_n_and_c4b_tolerates_the_rule() -> None:
    small = _cell("gpt", 100, 500, n=64, max_steps=3000)
    large = _cell("gpt", 100, 2000, n=256, max_steps=3000)
    claims = {c.key: c for c in study.claim_c3(small + large)}
    assert claims["C3a"].verdict == "reproduced"
    g2 = _cell("gpt", 50, 550, G=2, n=64, max_steps=3000)
    c4b = study.claim_c4(small + g2, leaderboard.build(small + g2))[1]
    assert c4b.verdict == "reproduced" and "ratio 0.91" in " ".join(c4b.evidence)
    g2_late = _cell("gpt", 50, 1500, G=2, n=64, max_steps=3000)
    assert study.claim_c4(small + g2_late, leaderboard.build(small + g2_late))[1].verdict == "not reproduced"


def test_c6_a_censored_run_still_rising_is_not_a_failure() -> None:
    """A diffusion run censored at q = 0.85 was approaching the bar: the claim is then inconclusive, not reproduced."""
    import dataclasses

    approaching = [dataclasses.replace(r, final_metrics={**r.final_metrics, "noncopy_valid_norm": 0.85}) for r in _cell("dit", None)]
    claim = study.claim_c6(_cell("gpt", 1000) + approaching)
    assert claim.verdict == "inconclusive" and "3 were approaching" in claim.reason


@pytest.mark.skipif(not any(RUNS.glob("*/record.json")), reason="the study's runs are not in this checkout")
def test_every_number_in_the_text_is_printed_by_the_script() -> None:
    """The hand-written 'What the numbers say' section may quote only numbers the generated block prints."""
    text = (ROOT / "leaderboard" / "v2" / "README.md").read_text()
    block = re.search(r"<!-- generated: claims .*?-->\n(.*?)\n<!-- /generated -->", text, re.S).group(1)
    prose = text.split("## What the numbers say", 1)[1].split("\n## ", 1)[0]
    printed = set(re.findall(r"\d[\d,]*(?:\.\d+)?", block.replace(",", "")))
    quoted = {number.replace(",", "") for number in re.findall(r"(?<![\w.])\d[\d,]*(?:\.\d+)?", prose)}
    design = {"2", "3", "4", "6"}  # G values and the cell distance named by the design
    assert quoted - printed - design == set()


def test_a_missing_runs_folder_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert study.main(["--runs", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "absent: no such folder" in err


def test_verdict_reasons_count_one_comparison_in_the_singular() -> None:
    assert study._verdict_from_tests([">", "?"], "<") == ("not reproduced", "1 of 1 comparison separated the other way")
    assert study._verdict_from_tests(["<", "=", ">"], "<")[1] == "1 of 3 comparisons separated the other way"
