"""Fuzzing the CLI and the YAML sweep parser: every malformed input ends in exit 2 with one `error:` line.

Property-based (hypothesis). Each generated input is malformed by construction: a valid small sweep with
one to three corruptions (a bad number, knob, name, device, flag, path, file structure...). None may
end in a traceback, a hang or exit 0. Examples are bounded (`TWO_CLOCKS_FUZZ_EXAMPLES`, default 300 per
test) and derandomized, so the suite stays fast and deterministic; set the variable higher (and
`TWO_CLOCKS_FUZZ_RANDOM=1` for fresh examples) to search longer. Each example must finish within 20 s.
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import signal
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from benchmark import cli  # noqa: E402

EXAMPLES = int(os.environ.get("TWO_CLOCKS_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the per-example alarm below bounds time instead (a first call imports torch)
    derandomize=not os.environ.get("TWO_CLOCKS_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
EXAMPLE_TIMEOUT_S = 20
OUTCOMES: collections.Counter = collections.Counter()  # (test, outcome) → count: the numbers the issue asks for

# --- running one input ---------------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so that no `except Exception` in the code under test can swallow it."""


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def outcome(argv: list[str]) -> tuple[int, str, str]:
    """Exit code, stderr and stdout of the CLI on `argv`, in this process (an escaping exception fails the test)."""
    err, out = io.StringIO(), io.StringIO()
    with time_limit(EXAMPLE_TIMEOUT_S), contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = cli.main(argv)
    return code, err.getvalue(), out.getvalue()


def assert_one_error_line(test: str, argv: list[str], allow_success: bool = False) -> None:
    code, err, out = outcome(argv)
    lines = err.strip().splitlines()
    if allow_success and code == 0:
        OUTCOMES[(test, "exit 0 (valid input, --dry-run)")] += 1
        return
    assert code == cli.EXIT_USER_ERROR, f"exit {code} for {argv!r}:\n{err}"
    assert len(lines) == 1 and lines[0].startswith("error: "), f"not one error line for {argv!r}:\n{err}"
    assert "Traceback" not in err and out == "", argv
    OUTCOMES[(test, "exit 2, one line")] += 1


@pytest.fixture(scope="module", autouse=True)
def report_outcomes() -> Iterator[None]:
    yield
    print("\nfuzzed inputs and their outcomes:")
    for (test, result), count in sorted(OUTCOMES.items()):
        print(f"  {test}: {count} × {result}")


# --- strategies: always-invalid pieces -----------------------------------------------------------

identifiers = st.text(string.ascii_lowercase + string.digits + "_", min_size=1, max_size=12).filter(lambda s: s[0].isalpha())
junk = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=30)
not_an_int = junk.filter(lambda s: not _parses_as_int(s) and s.strip() != "stream")  # 'stream' is a valid N
huge = st.integers(min_value=10**10, max_value=10**40)
non_positive = st.integers(max_value=0)
bad_float_text = st.sampled_from(["nan", "inf", "-inf", "1e309", "-1e309", "NaN", "Infinity"])


def _parses_as_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _text(value: Any) -> str:
    return str(value)


@st.composite
def bad_number_flag(draw: Any) -> list[str]:
    flag = draw(st.sampled_from(["--n", "--seeds", "--max-steps", "--eval-samples", "-j"]))
    if flag == "--seeds":
        value = draw(st.one_of(not_an_int, st.integers(max_value=-1).map(_text)))
    elif flag == "--max-steps":
        value = draw(st.one_of(not_an_int, non_positive.map(_text), st.integers(min_value=10**9 + 1, max_value=10**40).map(_text)))
    elif flag == "--eval-samples":
        value = draw(st.one_of(not_an_int, non_positive.map(_text), st.integers(min_value=10**6 + 1, max_value=10**40).map(_text)))
    else:
        value = draw(st.one_of(not_an_int, non_positive.map(_text)))
    return [flag, value]


@st.composite
def bad_task(draw: Any) -> list[str]:
    kind = draw(st.sampled_from(["unknown name", "unknown knob", "bad G", "bad height", "bad layout", "module path", "not a class"]))
    if kind == "unknown name":
        name = draw(identifiers.filter(lambda s: s not in __import__("tasks").names()))
        return ["--tasks", name]
    if kind == "unknown knob":
        knob = draw(identifiers.filter(lambda s: s not in {"G", "height", "width", "layout", "layout_seed", "parity"}))
        return ["--tasks", f"parity:{knob}={draw(st.integers())}"]
    if kind == "bad G":
        value = draw(st.one_of(st.integers().filter(lambda g: g < 1 or 36 % g != 0).map(_text), not_an_int.filter(lambda s: "," not in s and "=" not in s and s.strip()), bad_float_text))
        return ["--tasks", f"parity:G={value}"]
    if kind == "bad height":
        value = draw(st.one_of(non_positive, st.integers(min_value=257), huge))
        return ["--tasks", f"parity:height={value},G=1"]
    if kind == "bad layout":
        layout = draw(identifiers.filter(lambda s: s not in ("contiguous", "random")))
        return ["--tasks", f"parity:layout={layout}"]
    if kind == "module path":
        return ["--tasks", f"no_such_{draw(identifiers)}:{draw(identifiers).capitalize()}"]
    return ["--tasks", draw(st.sampled_from(["os:system", "benchmark.cli:main", "subprocess:Popen", "json:dumps", "benchmark.core.task:SAMPLE_DTYPE"]))]


@st.composite
def bad_adapter(draw: Any) -> list[str]:
    kind = draw(st.sampled_from(["unknown name", "bad batch_size", "unknown knob", "bad gpt float", "bad dit knob"]))
    if kind == "unknown name":
        return ["--adapters", draw(identifiers.filter(lambda s: s not in ("memorizer", "oracle", "uniform", "dit", "gpt")))]
    if kind == "bad batch_size":
        value = draw(st.one_of(non_positive.map(_text), st.integers(min_value=2**20 + 1).map(_text), not_an_int.filter(lambda s: "," not in s and "=" not in s and s.strip()), bad_float_text))
        return ["--adapter-args", f"memorizer:batch_size={value}"]
    if kind == "unknown knob":
        knob = draw(identifiers.filter(lambda s: s != "batch_size"))
        return ["--adapter-args", f"memorizer:{knob}=1"]
    if kind == "bad gpt float":
        knob = draw(st.sampled_from(["lr", "weight_decay", "ema_decay"]))
        return ["--adapters", f"gpt:{knob}={draw(bad_float_text)}"]
    knob, value = draw(st.sampled_from([("sigma_max", "inf"), ("p_mean", "nan"), ("patch_size", "5"), ("depth", str(10**10)), ("width", "30"), ("sampler", "heun"), ("precision", "fp8")]))
    return ["--adapters", f"dit:{knob}={value}"]


@st.composite
def bad_protocol(draw: Any) -> list[str]:
    kind = draw(st.sampled_from(["theta", "ints", "unknown", "syntax", "schedule"]))
    if kind == "theta":
        knob = draw(st.sampled_from(["theta_rule", "theta_mem", "theta_mem_strong"]))
        value = draw(st.one_of(bad_float_text, st.floats(max_value=0.0, allow_nan=False).map(repr), st.floats(min_value=1.0001, allow_infinity=False).map(repr)))
        return ["--protocol-args", f"{knob}={value}"]
    if kind == "ints":
        knob, value = draw(st.sampled_from([
            ("eval_points", draw(st.one_of(non_positive, st.integers(min_value=1001)))),
            ("hold", draw(st.one_of(non_positive, st.integers(min_value=1001)))),
            ("threads", draw(st.one_of(non_positive, st.integers(min_value=257)))),
            ("sampling_seed", draw(st.integers(max_value=-1))),
            ("max_steps", draw(huge)),
        ]))  # fmt: skip
        return ["--protocol-args", f"{knob}={value}"]
    if kind == "unknown":
        import dataclasses

        from benchmark.run.spec import ProtocolConfig

        known = {f.name for f in dataclasses.fields(ProtocolConfig)}
        return ["--protocol-args", f"{draw(identifiers.filter(lambda s: s not in known))}=1"]
    if kind == "syntax":
        return ["--protocol-args", draw(junk.filter(lambda s: "=" not in s and s.strip(" ,")))]  # "" (no knobs) is valid
    return ["--protocol-args", f"eval_schedule={draw(identifiers.filter(lambda s: s not in ('log', 'linear')))}"]


@st.composite
def bad_setting(draw: Any) -> list[str]:
    kind = draw(st.sampled_from(["device", "backend", "flag", "config", "include", "restart", "output"]))
    if kind == "device":
        return ["--device", draw(junk.filter(lambda s: s not in ("auto", "cpu") and not s.startswith("-")))]
    if kind == "backend":
        return ["--backend", draw(identifiers.filter(lambda s: s not in ("local", "ray")))]
    if kind == "flag":
        return [f"--zz{draw(identifiers)}"]
    if kind == "config":
        return ["--config", f"/nonexistent/{draw(identifiers)}.yaml"]
    if kind == "include":
        return ["--include", draw(st.sampled_from([f"/nonexistent/{draw(identifiers)}.py", f"no_such_module_{draw(identifiers)}"]))]
    if kind == "restart":
        return ["--restart-run", f"x_{draw(identifiers)}"]
    return ["--output", "/dev/null/runs"]


corruption = st.one_of(bad_number_flag(), bad_task(), bad_adapter(), bad_protocol(), bad_setting())


def base_argv(output: Path) -> list[str]:
    return [
        "run", "--tasks", "parity", "--adapters", "memorizer", "--n", "8",
        "--protocol-args", "max_steps=5,eval_points=2,eval_samples=8", "--output", str(output), "--quiet",
    ]  # fmt: skip


@FUZZ
@given(corruptions=st.lists(corruption, min_size=1, max_size=3))
def test_malformed_flags_are_one_line_and_exit_2(tmp_path_factory: pytest.TempPathFactory, corruptions: list[list[str]]) -> None:
    output = tmp_path_factory.getbasetemp() / "fuzz-flags"
    argv = base_argv(output)
    for tokens in corruptions:
        argv += tokens
    assert_one_error_line("flags", argv)
    assert not output.exists() or not any(output.iterdir())  # nothing trained


# --- YAML sweep files ----------------------------------------------------------------------------

VALID = {"tasks": ["parity"], "adapters": ["memorizer"], "n": [8], "seeds": [0], "protocol": {"max_steps": 5, "eval_points": 2, "eval_samples": 8}}
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), junk)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(junk, inner, max_size=3)), max_leaves=8)


@st.composite
def malformed_sweep(draw: Any) -> dict[str, Any]:
    """A valid sweep with one corruption that no other key can repair."""
    data = {key: (dict(value) if isinstance(value, dict) else list(value)) for key, value in VALID.items()}
    kind = draw(st.sampled_from(["wrong type", "unknown key", "bad n", "bad protocol", "bad setting", "bad sweeps", "bad choice", "missing"]))
    if kind == "wrong type":
        key = draw(st.sampled_from(["tasks", "adapters", "n", "seeds", "protocol"]))
        data[key] = draw(st.one_of(st.none(), st.booleans(), st.floats(), st.lists(st.one_of(st.none(), st.floats(), st.booleans()), min_size=1, max_size=3)))
        if key in ("n", "seeds") and isinstance(data[key], float) and data[key].is_integer() and data[key] >= 0 or data[key] is None and key in ("n", "seeds"):
            data[key] = "many"
    elif kind == "unknown key":
        from benchmark.sweep.files import FILE_KEYS

        data[draw(junk.filter(lambda s: s not in FILE_KEYS))] = draw(values)
    elif kind == "bad n":
        key = draw(st.sampled_from(["n", "seeds"]))
        data[key] = [draw(st.one_of(st.integers(max_value=-1), st.floats(allow_nan=True), junk.filter(lambda s: s != "stream"), st.booleans()))]
    elif kind == "bad protocol":
        data["protocol"] = {**data["protocol"], **draw(st.sampled_from([
            {"max_steps": 10**31}, {"eval_points": 100000}, {"theta_rule": float("nan")}, {"theta_mem": float("inf")},
            {"eval_samples": 10**12}, {"threads": 0}, {1: 2}, {"hold": -1}, {"early_stop": "maybe"}, {"eval_schedule": 3},
        ]))}  # fmt: skip
    elif kind == "bad setting":
        key, value = draw(st.sampled_from([
            ("device", "meta"), ("device", 3), ("backend", "slurm"), ("jobs", 0), ("jobs", "two"), ("output", ""),
            ("output", ["runs"]), ("include", 3), ("include", ["/nonexistent/x.py"]), ("name", {"a": 1}),
        ]))  # fmt: skip
        data[key] = value
    elif kind == "bad sweeps":
        data["sweeps"] = draw(st.one_of(st.just([]), st.just({}), st.lists(st.one_of(scalars, st.just({"nope": 1}), st.just({"n": [-1]})), min_size=1, max_size=3)))
    elif kind == "bad choice":
        key = draw(st.sampled_from(["tasks", "adapters"]))
        data[key] = draw(st.sampled_from([
            [{"parity": {"G": [5]}}], [{"parity": {"G": []}}], [{"parity": [1, 2]}], [{3: {}}], ["parity:"], [":G=2"], ["parity:G=2,G=4"],
            [{"memorizer": {"batch_size": 0}}], [{"os:system": {}}], ["parity:2"], [{"parity": {"G": {"a": 1}}}], [{"parity": {"height": 10**10}}],
        ]))  # fmt: skip
        if key == "adapters" and data[key] in ([{"parity": {"G": [5]}}],):
            data[key] = [{"memorizer": {"batch_size": -3}}]
    else:
        del data[draw(st.sampled_from(["tasks", "adapters", "n"]))]
    return data


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@FUZZ
@given(data=malformed_sweep())
def test_malformed_sweep_files_are_one_line_and_exit_2(tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]) -> None:
    directory = tmp_path_factory.getbasetemp()
    path = directory / "fuzz-sweep.yaml"
    data.setdefault("output", str(directory / "fuzz-yaml-runs"))
    path.write_text(_dump(data))
    assert_one_error_line("yaml structures", ["run", "--config", str(path), "--quiet"])


@FUZZ
@given(text=st.one_of(junk, st.text(st.sampled_from(list("{}[]:,-&*!|>'\"#%@` \n\tab01")), max_size=60)))
def test_random_text_as_a_sweep_file_is_one_line_and_exit_2(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.getbasetemp() / "fuzz-text.yaml"
    path.write_text(text)
    assert_one_error_line("yaml text", ["run", "--config", str(path), "--quiet", "--output", str(tmp_path_factory.getbasetemp() / "fuzz-text-runs")])


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from(["delete", "insert", "replace"]), st.characters(codec="utf-8", exclude_categories=("Cs",))), min_size=1, max_size=4
    )
)
def test_mutated_sweep_files_never_crash(tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[int, str, str]]) -> None:
    """Random edits of a valid file may leave it valid (--dry-run: exit 0, nothing trains) or not (exit 2, one line); nothing else."""
    text = _dump({**VALID, "output": str(tmp_path_factory.getbasetemp() / "fuzz-mutated-runs")})
    for position, action, char in edits:
        position %= len(text) + 1
        if action == "delete":
            text = text[:position] + text[position + 1 :]
        elif action == "insert":
            text = text[:position] + char + text[position:]
        else:
            text = text[:position] + char + text[position + 1 :]
    path = tmp_path_factory.getbasetemp() / "fuzz-mutated.yaml"
    path.write_text(text)
    assert_one_error_line("yaml mutations", ["run", "--config", str(path), "--quiet", "--dry-run"], allow_success=True)
