"""Export a trained model out of the suite: `python -m benchmark export RUN_DIR OUT [--step K]`.

The adapter rebuilt from the run's spec loads a checkpoint of the run (`checkpoint.pt`, or a kept
`checkpoints/step_<k>.pt`) and, through the optional `benchmark.core.adapter.Exportable` capability, writes its
model with the library's own `save_pretrained`. Beside it go `two_clocks.json` (spec, step, clocks, the
eval row at that step) and a `README.md` model card that says how to load and sample it.
`load_exported(OUT)` gives the adapter back, with the weights read by the library's `from_pretrained`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from benchmark.core.config import ConfigError
from benchmark.core.display import count_text

if TYPE_CHECKING:  # annotations only: the adapters load torch
    from adapters.torch_adapter import TorchAdapter
    from benchmark.core.records import Clock

EXPORT_FILE = "two_clocks.json"
CARD_FILE = "README.md"
SAFETENSORS_LIBRARIES = ("transformers", "diffusers")  # what `load_exported` imports: their from_pretrained reads safetensors only
CARD_METRICS = ("valid", "valid_norm", "noncopy_valid", "noncopy_valid_norm", "mem", "near", "control", "novel_valid")  # shown when the row has them


class ExportError(ConfigError):
    """The run cannot be exported (no weights kept, an unknown step, an adapter without the capability)."""


def checkpoint_path(run_dir: Path, step: int | None) -> Path:
    """The checkpoint holding the weights at `step` (None: the latest one the run kept)."""
    from benchmark.run.rundir import CHECKPOINT_FILE, CHECKPOINTS_DIR

    kept = {int(m.group(1)): path for path in (run_dir / CHECKPOINTS_DIR).glob("step_*.pt") if (m := re.fullmatch(r"step_(\d+)\.pt", path.name))}
    if step is not None:
        if step not in kept:
            listed = ", ".join(map(str, sorted(kept))) or "none (run it with --keep-checkpoints to keep every eval step)"
            raise ExportError(f"{run_dir} kept no checkpoint at step {step}; kept steps: {listed}")
        return kept[step]
    if (run_dir / CHECKPOINT_FILE).is_file():
        return run_dir / CHECKPOINT_FILE
    if kept:
        return kept[max(kept)]
    raise ExportError(
        f"{run_dir} holds no weights: a finished run deletes its checkpoint unless it ran with --keep-checkpoints (rerun the sweep with --keep-checkpoints into another --output to export it)"
    )


def export_run(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, step: int | None = None) -> dict[str, Any]:
    """Write the run's model at `step` into `out` (absent or empty) and return what `two_clocks.json` holds."""
    from benchmark.core.adapter import Exportable
    from benchmark.core.records import RECORD_FILE, read_record
    from benchmark.core.registry import refuse_import_from_file
    from benchmark.run import protocol
    from benchmark.run.rundir import SPEC_FILE, load_state, read_spec

    run_dir, out = Path(run_dir), Path(out)
    if not (run_dir / SPEC_FILE).is_file():
        raise ExportError(f"{run_dir} is not a run folder (no {SPEC_FILE})")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty folder: export into a new one")
    spec = read_spec(run_dir)  # a spec.json that is not a run spec is one line naming it
    for kind, component in (("task", spec.task), ("adapter", spec.adapter)):
        refuse_import_from_file(component.name, kind, str(run_dir / SPEC_FILE))
    path = checkpoint_path(run_dir, step)
    state = load_state(path, spec, run_dir)  # weights_only=True and this run's own: a crafted or foreign file is one line
    task = protocol.build_task(spec)
    adapter = protocol.build_adapter(spec, task, "cpu")
    if not isinstance(adapter, Exportable):
        raise ExportError(f"adapter {spec.adapter.name!r} ({type(adapter).__name__}) has no export method (benchmark.core.adapter.Exportable): it cannot leave the suite")
    adapter.load_state_dict(state["adapter"])
    model = adapter.export(out)
    record = read_record(run_dir) if (run_dir / RECORD_FILE).is_file() else None
    rows = state.get("rows") or []
    info = {
        "run_id": spec.run_id,
        "step": int(state["step"]),
        "final": record is not None and int(state["step"]) == record.steps_trained,
        "spec": spec.to_dict(),
        "adapter": {"name": spec.adapter.name, "config": spec.adapter.config, "describe": adapter.describe()},
        "model": model,
        "eval_at_step": rows[-1] if rows else None,
        "clocks": {name: _clock_dict(clock) for name, clock in record.clocks.items()} if record else None,
        "window": record.window.status if record else None,
        "steps_trained": record.steps_trained if record else None,
    }
    (out / EXPORT_FILE).write_text(json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")
    (out / CARD_FILE).write_text(model_card(info))
    return info


def load_exported(directory: str | os.PathLike[str], device: str = "cpu") -> TorchAdapter:
    """The exported adapter, its weights loaded with the model class's `from_pretrained`: `.sample(n, generator)` works."""
    import importlib

    import adapters
    from benchmark.core.adapter import DataSpec
    from benchmark.core.registry import refuse_import_from_file

    directory = Path(directory)
    info = json.loads((directory / EXPORT_FILE).read_text())
    model_info = info["model"]
    if model_info.get("library") not in SAFETENSORS_LIBRARIES:
        raise ExportError(f"{directory / EXPORT_FILE}: library {model_info.get('library')!r} is not one of {', '.join(SAFETENSORS_LIBRARIES)}; load it with that library directly")
    model_class = getattr(importlib.import_module(model_info["library"]), model_info["class"])
    from adapters.torch_adapter import library_output_silenced

    with library_output_silenced():
        model = model_class.from_pretrained(directory, use_safetensors=True)  # safetensors only: a pickled .bin beside it is never read
    refuse_import_from_file(info["adapter"]["name"], "adapter", str(directory / EXPORT_FILE))
    data = DataSpec(tuple(model_info["data"]["shape"]), int(model_info["data"]["num_symbols"]))
    adapter = cast("TorchAdapter", adapters.build(info["adapter"]["name"], data, seed=0, device=device, **info["adapter"]["config"]))  # exported models are torch modules
    model = model.to(adapter.device)
    ema = getattr(adapter, "ema", None)
    if ema is not None:
        ema.model = model.eval().requires_grad_(False)
    else:
        adapter.model = model
    return adapter


def model_card(info: dict[str, Any]) -> str:
    """A short README: what was trained on what, the clocks, and how to load it back."""
    model, spec = info["model"], info["spec"]
    clocks = info.get("clocks") or {}
    shown = ", ".join(f"{name} {_display(clock)}" for name, clock in clocks.items()) or "run not finished"
    eval_row = info.get("eval_at_step") or {}
    metrics = ", ".join(f"{key} {value:.3f}" for key, value in eval_row.items() if key in CARD_METRICS and isinstance(value, (int, float)) and not isinstance(value, bool))
    task_knobs = ", ".join(f"{k}={v}" for k, v in spec["task"].get("config", {}).items())
    load = _load_snippet(model)
    return f"""---
library_name: {model["library"]}
tags: [two-clocks, {spec["adapter"]["name"]}, {spec["task"]["name"]}]
---

# {info["run_id"]} at step {info["step"]}

A `{model["library"]}.{model["class"]}` trained by the two-clocks benchmark: adapter `{spec["adapter"]["name"]}`
on task `{spec["task"]["name"]}` ({task_knobs}), N = {spec["n_train"]} training samples, seed {spec["seed"]};
the {model["sampled_weights"]} weights after {count_text(int(info["step"]), "step")}{" (the end of the run)" if info.get("final") else ""}.

- clocks of the run (steps): {shown}; window: {info.get("window") or "—"}
- eval at this step: {metrics or "—"}
- samples: shape {tuple(model["data"]["shape"])}, {model["data"]["num_symbols"]} symbols
- the full spec, adapter description and eval row: `{EXPORT_FILE}`

## Load

```python
{load}
```

Sample exactly as the suite does (same decoding, same sampler):

```python
import torch
from benchmark.report.export import load_exported
adapter = load_exported("path/to/this/folder")
samples = adapter.sample(16, torch.Generator().manual_seed(0))   # LongTensor (16, {", ".join(map(str, model["data"]["shape"]))})
```
"""


def _load_snippet(model: dict[str, Any]) -> str:
    lines = [f"from {model['library']} import {model['class']}", f'model = {model["class"]}.from_pretrained("path/to/this/folder")']
    if model.get("scheduler"):
        lines = [f"from {model['library']} import {model['class']}, {model['scheduler']}", lines[1], f'scheduler = {model["scheduler"]}.from_pretrained("path/to/this/folder", subfolder="scheduler")']
    if model["library"] == "transformers":
        bos = model["data"]["num_symbols"]
        lines += [
            "import torch",
            f"prompt = torch.full((16, 1), {bos})  # BOS = number of symbols",
            "tokens = model.generate(prompt, attention_mask=torch.ones_like(prompt))  # generation_config.json: the suite's sampler",
            f"samples = tokens[:, 1:].reshape(16, {', '.join(map(str, model['data']['shape']))})",
        ]
    return "\n".join(lines)


def _clock_dict(clock: Clock | Mapping[str, Any]) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(clock) if is_dataclass(clock) else dict(clock)


def _display(clock: dict[str, Any]) -> str:
    if clock.get("step") is None or clock.get("applicable") is False:
        return "n/a"
    value = f"{clock['step']:.0f}"
    return f"> {value}" if clock.get("censored") else value


__all__ = ["CARD_FILE", "CARD_METRICS", "EXPORT_FILE", "SAFETENSORS_LIBRARIES", "ExportError", "checkpoint_path", "export_run", "load_exported", "model_card"]
