"""`python -m benchmark` / `two-clocks`: run sweeps, list tasks and adapters, render leaderboards and plots.

Thin by design: parse, validate everything up front (every spec resolved before any training),
hand the specs to a backend, render from records. A user error is one line `error: ...` on stderr
and exit code 2, never a traceback; a run that fails while training is reported with its traceback
and the sweep exits 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_USER_ERROR = 2
EXIT_RUN_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `cmd | head` gives for a C tool

logger = logging.getLogger(__name__)


class UsageError(ValueError):
    """Bad command line: reported as one `error:` line."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage, so every user error is the same one line."""

    def error(self, message: str) -> None:  # type: ignore[override]  # typeshed says NoReturn; raising keeps that promise
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; `--include` is accepted by every command."""
    import benchmark
    from benchmark.sweep.backends import BACKENDS

    plugin = _Parser(add_help=False)
    plugin.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="FILE.py|MODULE",
        help="import a plugin that registers tasks or adapters (repeatable); installed plugins are found through entry points",
    )
    plugin.add_argument("--verbosity", choices=("debug", "info", "warning", "error"), help="log level on stderr (default info; warning with --quiet)")
    parser = _Parser(prog="python -m benchmark", description="two-clocks: measure when a generative model learns a rule (τ_rule) and when it starts copying (τ_mem).")
    parser.add_argument("--version", action="version", version=f"two-clocks {benchmark.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{run,list,leaderboard,plot,basins,reclock,export}")
    commands.required = True

    run = commands.add_parser(
        "run",
        parents=[plugin],
        help="run a sweep (no arguments: the default job)",
        description=_RUN_HELP,
        epilog=_protocol_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--config", metavar="SWEEP.yaml", help="sweep file; flags below override it")
    run.add_argument("--tasks", nargs="+", default=[], metavar="TASK[:k=v,...]", help="tasks with knobs; several values sweep: parity:G=2,4")
    run.add_argument("--adapters", nargs="+", default=[], metavar="ADAPTER[:k=v,...]", help="adapters with knobs: dit gpt:depth=4")
    run.add_argument("--task-args", nargs="+", default=[], metavar="TASK:k=v,...", help="knobs added to a task of the sweep")
    run.add_argument("--adapter-args", nargs="+", default=[], metavar="ADAPTER:k=v,...", help="knobs added to an adapter of the sweep: dit:depth=4,width=128")
    run.add_argument("--n", nargs="+", type=_training_set_size, default=[], metavar="N", help="training-set sizes; 'stream': fresh samples every batch (the intrinsic rule clock)")
    run.add_argument("--seeds", nargs="+", type=_non_negative_int, default=[], metavar="SEED", help="seeds")
    run.add_argument("--max-steps", type=_positive_int, metavar="STEPS", help="training steps per run (protocol max_steps)")
    run.add_argument("--eval-samples", type=_positive_int, metavar="M", help="samples per eval (protocol eval_samples)")
    run.add_argument("--protocol-args", metavar="k=v,...", help="any protocol knob: theta_rule=0.8,hold=3")
    run.add_argument("--output", metavar="DIR", help="runs folder (default: runs)")
    run.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    run.add_argument("-j", "--jobs", type=_positive_int, help="runs in parallel (local backend; default 1)")
    run.add_argument("--backend", choices=BACKENDS, help="local process pool (default) or Ray (honours RAY_ADDRESS)")
    run.add_argument("--quiet", action="store_true", help="no progress bars or lines, warnings and errors only (the final table still prints)")
    run.add_argument("--wide", action="store_true", help="print the full markdown leaderboard instead of the compact table")
    run.add_argument(
        "--report-to",
        nargs="+",
        default=[],
        metavar="TRACKER[:k=v,...]",
        help="trackers: tensorboard, jsonl, csv (built in), wandb, mlflow (extras), or module:Class; e.g. wandb:project=x,mode=offline",
    )
    run.add_argument("--keep-checkpoints", action="store_true", help="keep checkpoint.pt after a run finishes")
    run.add_argument(
        "--restart-run",
        nargs="+",
        default=[],
        metavar="RUN_ID",
        help="start these runs of the sweep over from step 0, deleting what they wrote (the way out of a damaged run folder)",
    )
    run.add_argument("--skip-running", action="store_true", help="skip runs another process is training (default: wait for them)")
    run.add_argument("--smoke", action="store_true", help="shrink steps and samples to seconds (also TWO_CLOCKS_SMOKE=1)")
    run.add_argument("--dry-run", action="store_true", help="validate and list the runs (ids on stdout, each run's resolved protocol on stderr), train nothing")

    listing = commands.add_parser("list", parents=[plugin], help="list tasks, adapters and the protocol with their knobs")
    listing.add_argument("what", nargs="?", choices=("tasks", "adapters", "protocol"), help="tasks, adapters or protocol (default: all three)")

    board = commands.add_parser("leaderboard", parents=[plugin], help="render the leaderboard of a runs folder")
    board.add_argument("runs", nargs="+", metavar="RUNS", help="runs folder(s)")
    board.add_argument("--out", metavar="FILE.md", help="write the markdown here (default: print it)")
    board.add_argument("--json", metavar="FILE.json", help="also write the leaderboard as JSON")
    board.add_argument("--force", action="store_true", help="overwrite --out/--json even when not written by leaderboard or tracked by git")

    plot = commands.add_parser("plot", parents=[plugin], help="figures of a runs folder (needs matplotlib)")
    plot.add_argument("runs", nargs="+", metavar="RUNS", help="runs folder(s)")
    plot.add_argument("--out", default="figures", metavar="DIR", help="folder for the PNGs (default: figures)")

    basins = commands.add_parser(
        "basins",
        parents=[plugin],
        help="basins of training / novel-valid / invalid probes along a run (diffusion adapters)",
        description="Noise probes at a ladder of σ, denoise them with the checkpoints kept along a run "
        "(run it with --keep-checkpoints), and report return probabilities and basin radii: benchmark/PROTOCOL.md, 'Basins'.",
    )
    basins.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folder(s) made with --keep-checkpoints")
    basins.add_argument("--probes", type=_positive_int, help="probes per class (default 64)")
    basins.add_argument("--sigmas", metavar="S1,S2,...", help="the σ ladder, increasing (default 0.05,...,2.0: 8 values)")
    basins.add_argument("--noise-draws", type=_positive_int, help="noise draws per probe and σ (default 1)")
    basins.add_argument("--max-checkpoints", type=_non_negative_int, help="analyse at most this many checkpoints, evenly spread (default: all)")
    basins.add_argument("--seed", type=_non_negative_int, help="seed of probes and noise (default 0)")
    basins.add_argument("--device", default="cpu", help="auto, cpu, cuda or cuda:N (default: cpu)")
    basins.add_argument("--plot", action="store_true", help="also write basins.png (needs matplotlib)")
    basins.add_argument("--quiet", action="store_true", help="no per-checkpoint progress lines")

    reclock = commands.add_parser(
        "reclock",
        parents=[plugin],
        help="re-read protocol-1.0 runs with protocol 2.0's clocks (where 1.0's metrics suffice)",
        description="Write, for every protocol-1.0 run under RUNS, a schema-2 record whose clocks follow protocol 2.0's definitions, "
        "rebuilt from the 1.0 curves (near-copies were not recorded in 1.0: non-copies exclude exact copies only, and τ_mem_near is not available). "
        "Render them with `leaderboard OUT`: benchmark/PROTOCOL.md, 'Re-reading protocol 1.0'.",
    )
    reclock.add_argument("runs", nargs="+", metavar="RUNS", help="folder(s) of protocol-1.0 runs")
    reclock.add_argument("--out", required=True, metavar="DIR", help="folder for the re-read runs (one sub-folder per run id)")

    export = commands.add_parser(
        "export",
        parents=[plugin],
        help="write a run's trained model with save_pretrained, plus a model card",
        description="Write the model of a run folder in its library's own format (save_pretrained: loadable with "
        "from_pretrained) and a README.md model card with the run's spec and clocks. The weights come from the run's "
        "checkpoint: finished runs keep one only with --keep-checkpoints, which also keeps every eval step.",
    )
    export.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (holding spec.json and a checkpoint)")
    export.add_argument("out", metavar="OUT", help="folder to write the model into (created; must be empty or absent)")
    export.add_argument("--step", type=_non_negative_int, help="a kept eval step (checkpoints/step_<k>.pt; default: the latest checkpoint)")
    return parser


_RUN_HELP = """Run a sweep: the cartesian product of tasks x task knobs x adapters x adapter knobs x N x seeds.

Without --config, --tasks or --adapters this runs the packaged default job (other flags such as
--seeds, -j or --smoke apply to it); with --tasks/--adapters alone the flags are the whole sweep,
at the protocol defaults. Finished runs are skipped (run ids are content hashes of the resolved
spec); unfinished ones resume from their checkpoints.

examples:
  python -m benchmark run
  python -m benchmark run --tasks parity:G=2,4 --adapters gpt --n 64 128 --seeds 0 1 2 -j 2
  python -m benchmark run --config sweep.yaml --adapter-args dit:depth=4,width=128 --output runs/
"""


def _protocol_help() -> str:
    """`run --help`'s list of protocol knobs, made from ProtocolConfig's fields (defaults and help), never by hand."""
    from benchmark.run.spec import ProtocolConfig

    return "protocol knobs (--protocol-args k=v,...; defaults below; `list protocol` prints them too):\n" + _knob_table(ProtocolConfig)


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _training_set_size(text: str) -> int | str:
    if text.strip() == "stream":
        return "stream"
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a positive integer or 'stream', got {text!r}") from None


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit code (0 ok, 1 a run failed, 2 user error, 130 interrupted, 141 reader closed the pipe)."""
    from benchmark.core.config import ConfigError
    from benchmark.core.records import RecordError
    from benchmark.core.registry import RegistryError
    from benchmark.report.plots import PlotError
    from benchmark.sweep.backends import BackendError
    from benchmark.sweep.files import SweepError
    from benchmark.sweep.plugins import PluginError

    user_errors = (UsageError, ConfigError, RegistryError, SweepError, PluginError, RecordError, PlotError, BackendError)
    previous_sigterm = _handle_sigterm_like_ctrl_c()
    try:
        args = build_parser().parse_args(argv)
        from benchmark.core import log
        from benchmark.sweep.plugins import load_plugins

        level = args.verbosity or ("warning" if getattr(args, "quiet", False) else "info")
        with log.configured(level):
            if args.command != "run":  # run loads the sweep file's includes too, after reading it
                load_plugins(args.include)
            commands = {
                "run": command_run,
                "list": command_list,
                "leaderboard": command_leaderboard,
                "plot": command_plot,
                "basins": command_basins,
                "reclock": command_reclock,
                "export": command_export,
            }
            return commands[args.command](args)
    except user_errors as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume unfinished runs", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `... | head`: the reader has what it wanted; no traceback, the exit status a shell gives for SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the interpreter's final flush cannot raise again
        return EXIT_BROKEN_PIPE
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


def _handle_sigterm_like_ctrl_c() -> Any:
    """`kill` (SIGTERM) stops a sweep as Ctrl-C does: workers stopped, checkpoints kept. Returns the handler it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return None  # signal handlers can only be set from the main thread (e.g. main() called from a worker thread)

    def interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop at a time: a second SIGTERM must not cut the clean-up short
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def _fail(message: str) -> int:
    print("error: " + " ".join(message.split()), file=sys.stderr)
    return EXIT_USER_ERROR


# --- run ---------------------------------------------------------------------------------------


def command_run(args: argparse.Namespace) -> int:
    """Validate the whole sweep, run it on the chosen backend, print the compact leaderboard and write the full one."""
    from benchmark import api
    from benchmark.core.log import LEVELS
    from benchmark.report import leaderboard, terminal
    from benchmark.sweep import files as sweep

    protocol: dict[str, Any] = {}
    if args.protocol_args:
        protocol.update(sweep.parse_knob_list(args.protocol_args, "--protocol-args"))
    if args.max_steps is not None:
        protocol["max_steps"] = args.max_steps
    if args.eval_samples is not None:
        protocol["eval_samples"] = args.eval_samples
    flags = sweep.Overrides(
        tasks=tuple(args.tasks),
        adapters=tuple(args.adapters),
        task_args=tuple(args.task_args),
        adapter_args=tuple(args.adapter_args),
        n=tuple(args.n),
        seeds=tuple(args.seeds),
        protocol=protocol,
        output=args.output,
        device=args.device,
        jobs=args.jobs,
        backend=args.backend,
        include=tuple(args.include),
    )
    level = LEVELS[args.verbosity or ("warning" if args.quiet else "info")]
    plan = api.plan_sweep(
        args.config,
        flags,
        smoke=args.smoke,
        quiet=args.quiet,
        keep_checkpoints=args.keep_checkpoints,
        report_to=args.report_to,
        log_level=level,
        create_output=not args.dry_run,
        restart=args.restart_run,
        skip_running=args.skip_running,
    )
    if plan.smoke:
        logger.info("smoke mode: %s", ", ".join(f"{name} ≤ {cap}" for name, cap in sweep.SMOKE_LIMITS.items()))
    if args.dry_run:
        for spec in plan.specs:
            print(spec.run_id)
        for line in _protocol_lines(plan.specs):
            logger.info("%s", line)
        return 0
    result = api.execute(plan)
    if result.records:
        board = leaderboard.build(result.records)
        markdown_path = Path(plan.options.output) / "leaderboard.md"
        _writable(lambda: leaderboard.write(board, markdown_path), markdown_path)
        print(leaderboard.to_markdown(board) if args.wide else terminal.summary_text(board, _shown_path(markdown_path)))
    for failure in result.failures:
        print(f"run {failure.spec.run_id} failed:\n{failure.error}", file=sys.stderr)
    for refusal in result.refusals:
        print(f"error: {' '.join(str(refusal.error).split())}", file=sys.stderr)
    if result.failures:
        from benchmark.core.display import count_text

        print(f"error: {len(result.failures)} of {count_text(len(plan.specs), 'run')} failed (tracebacks above); rerun to retry them", file=sys.stderr)
        return EXIT_RUN_FAILED
    return EXIT_USER_ERROR if result.refusals else 0


def _protocol_lines(specs: Sequence[Any]) -> list[str]:
    """One line per distinct resolved protocol of a sweep: which runs use it and every knob's value."""
    groups: dict[Any, list[str]] = {}
    for spec in specs:
        groups.setdefault(spec.protocol, []).append(spec.run_id)
    lines = []
    for protocol, run_ids in groups.items():
        which = (
            ("the one run" if len(run_ids) == 1 else f"all {len(run_ids)} runs")
            if len(groups) == 1
            else f"{len(run_ids)} run{'s' if len(run_ids) > 1 else ''} ({run_ids[0]}{', ...' if len(run_ids) > 1 else ''})"
        )
        knobs = ", ".join(f"{name}={_default(value)}" for name, value in protocol.to_dict().items())
        lines.append(f"protocol {protocol.version} of {which}: {knobs}")
    return lines


def _shown_path(path: Path) -> str:
    """A path relative to the working folder when it is inside it (shorter to read), else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _writable(action: Any, path: Any) -> Any:
    """Run a write; a permission or disk problem is a user error naming the path, not a traceback."""
    try:
        return action()
    except OSError as error:
        where = error.filename or path
        raise UsageError(f"cannot write {where}: {error.strerror or error}") from None


def _check_device(device: str, backend: str) -> None:
    from benchmark.sweep.plan import check_device

    check_device(device, backend)


# --- list --------------------------------------------------------------------------------------


def command_list(args: argparse.Namespace) -> int:
    """Every task and adapter with its knobs, types, defaults and help."""
    import importlib

    from benchmark.run.spec import PROTOCOL_VERSION, ProtocolConfig

    blocks = []
    for title in ("tasks", "adapters"):
        if args.what in (None, title):
            registry = importlib.import_module(title)  # adapters imports torch: only when listed
            blocks.append(_list_section(title, registry.names(), registry.get_class))
    if args.what in (None, "protocol"):
        blocks.append(f"protocol {PROTOCOL_VERSION} (set with --protocol-args k=v,... or a sweep file's protocol: block):\n{_knob_table(ProtocolConfig)}")
    print("\n\n".join(blocks))
    return 0


def _list_section(title: str, names: list[str], get_class: Any) -> str:

    lines = [f"{title} ({len(names)}):"]
    for name in names:
        try:
            component = get_class(name)
        except Exception as error:  # noqa: BLE001 - one broken plugin must not hide the others
            lines += ["", f"{name}: cannot load ({type(error).__name__}: {' '.join(str(error).split())})"]
            continue
        summary = (component.__doc__ or "").strip().splitlines()[0] if component.__doc__ else ""
        lines += ["", f"{name} — {summary}" if summary else name, _knob_table(component.config_class)]
    return "\n".join(lines)


def _knob_table(config_class: type) -> str:
    """A config class's knobs (name, type, default, help) as an indented plain table, from its fields."""
    from tabulate import tabulate

    from benchmark.core.config import describe_fields

    rows = [[field["name"], _type(field["type"]), _default(field["default"]), field["help"]] for field in describe_fields(config_class)]
    if not rows:
        return "    (no knobs)"
    table = tabulate(rows, headers=("knob", "type", "default", "help"), tablefmt="plain", disable_numparse=True)
    return "\n".join("    " + line for line in table.splitlines())


def _type(name: str) -> str:
    """describe_fields' 'an integer' → 'integer'; 'str' → 'string'."""
    name = name.removeprefix("an ").removeprefix("a ")
    return {"str": "string"}.get(name, name)


def _default(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "x".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


# --- leaderboard and plots ---------------------------------------------------------------------


def command_leaderboard(args: argparse.Namespace) -> int:
    """Markdown to stdout (or --out), JSON to --json; an existing file not written by `leaderboard`, or tracked by git, only with --force."""
    from benchmark.core.records import load_records
    from benchmark.report import leaderboard
    from benchmark.report.targets import overwrite_refusal

    for flag, path, kind in (("--out", args.out, "markdown"), ("--json", args.json, "json")):
        if path is not None:
            _check_file_target(flag, Path(path))
            refusal = None if args.force else overwrite_refusal(Path(path), flag, kind)
            if refusal:
                raise UsageError(refusal)
    board = leaderboard.build(load_records(args.runs))
    markdown = _writable(lambda: leaderboard.write(board, args.out, args.json), args.out or args.json)
    if args.out is None:
        print(markdown, end="")
    for path in (args.out, args.json):
        if path is not None:
            logger.info("wrote %s", path)
    return 0


def _check_file_target(flag: str, path: Path) -> None:
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a folder, expected a file name")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"{flag} {path} is inside {parent}, which is a file")


def command_plot(args: argparse.Namespace) -> int:
    """PNGs under --out: one per run, plus scaling figures where N or complexity varies."""
    from benchmark.report.plots import plot_all

    written = _writable(lambda: plot_all(args.runs, args.out), args.out)
    logger.info("wrote %d figures under %s", len(written), args.out)
    return 0


# --- basins ------------------------------------------------------------------------------------


def command_basins(args: argparse.Namespace) -> int:
    """Analyse each run folder's kept checkpoints; write basins.jsonl / basins.md (and basins.png) beside its metrics."""
    from benchmark.analysis.basins import BASINS_FILE, PLOT_FILE, SUMMARY_FILE, BasinConfig, analyse_run
    from benchmark.core.config import build_config
    from benchmark.report.plots import plot_basins, require_pyplot

    knobs = {
        name: value
        for name, value in (
            ("probes", args.probes),
            ("sigmas", args.sigmas),
            ("noise_draws", args.noise_draws),
            ("max_checkpoints", args.max_checkpoints),
            ("seed", args.seed),
        )
        if value is not None
    }
    config = build_config(BasinConfig, knobs)
    if args.plot:
        require_pyplot()  # fail before any analysis when matplotlib is missing
    _check_device(args.device, "local")
    for run_dir in map(Path, args.run_dirs):
        if not run_dir.is_dir():
            raise UsageError(f"{run_dir} is not a folder (expected a run folder holding spec.json)")
        progress = None if args.quiet else (lambda line, name=run_dir.name: logger.info("%s: %s", name, line))
        summary = analyse_run(run_dir, config, device=args.device, progress=progress)
        print(Path(run_dir / SUMMARY_FILE).read_text())
        written = [BASINS_FILE, SUMMARY_FILE]
        if args.plot:
            plot_basins(summary, run_dir / PLOT_FILE)
            written.append(PLOT_FILE)
        logger.info("wrote %s in %s (%.1f s)", ", ".join(written), run_dir, summary["wall_time_s"])
    return 0


# --- export ------------------------------------------------------------------------------------


def command_export(args: argparse.Namespace) -> int:
    """save_pretrained of the run's model at a kept step, a model card and two_clocks.json, in OUT."""
    from benchmark.report.export import export_run

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir} is not a folder (expected a run folder holding spec.json)")
    info = _writable(lambda: export_run(run_dir, args.out, step=args.step), args.out)
    model = info["model"]
    logger.info("wrote %s.%s at step %d to %s (load it with %s.from_pretrained; model card: README.md)", model["library"], model["class"], info["step"], args.out, model["class"])
    return 0


# --- reclock -----------------------------------------------------------------------------------


def command_reclock(args: argparse.Namespace) -> int:
    """Re-read protocol-1.0 runs with 2.0's clock definitions into --out."""
    from benchmark.analysis.reclock import reclock_runs
    from benchmark.sweep.plan import check_output

    out = check_output(Path(args.out))
    written = _writable(lambda: reclock_runs(args.runs, out), out)
    logger.info("re-read %d protocol-1.0 runs into %s (render them with: python -m benchmark leaderboard %s)", len(written), out, out)
    return 0


__all__ = [
    "EXIT_USER_ERROR",
    "EXIT_RUN_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_BROKEN_PIPE",
    "UsageError",
    "build_parser",
    "main",
    "command_run",
    "command_list",
    "command_leaderboard",
    "command_plot",
    "command_basins",
    "command_export",
    "command_reclock",
]
