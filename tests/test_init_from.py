"""Starting a network from existing weights (adapters.init_from): exported runs and from_pretrained folders, safetensors only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import adapters
from adapters.init_from import load_initial_weights
from benchmark.core.adapter import DataSpec
from benchmark.core.config import ConfigError

DATA = DataSpec((4, 4), 2)
SMALL = {"depth": 1, "width": 16, "heads": 2}


def _trained(name: str, knobs: dict, steps: int = 3, seed: int = 0):
    adapter = adapters.build(name, DATA, seed=seed, **knobs)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        adapter.train_step(torch.randint(0, 2, (8, 4, 4), generator=generator))
    return adapter


def _same(one: torch.nn.Module, two: torch.nn.Module) -> bool:
    a, b = one.state_dict(), two.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


@pytest.mark.parametrize(
    ("name", "knobs"),
    [("gpt", SMALL), ("hf_causal_lm", {"model_type": "llama", **SMALL}), ("dit", {"depth": 1, "width": 16, "heads": 2, "patch_size": 2}), ("unet", {}), ("mdlm", {"depth": 1, "width": 16})],
)
def test_an_exported_run_loads_into_a_fresh_adapter(name: str, knobs: dict, tmp_path: Path) -> None:
    trained = _trained(name, knobs)
    trained.export(tmp_path / "export")
    fresh = adapters.build(name, DATA, seed=1, **knobs)
    assert not _same(fresh.model, trained.model)  # another seed: other weights before loading
    load_initial_weights(fresh.model, tmp_path / "export")
    assert _same(fresh.model, trained.model)


def test_a_from_pretrained_folder_of_the_library_loads(tmp_path: Path) -> None:
    """A folder the library itself wrote (save_pretrained of the transformers model), not an export."""
    trained = _trained("hf_causal_lm", {"model_type": "qwen2", **SMALL})
    trained.model.save_pretrained(tmp_path / "qwen2")
    fresh = adapters.build("hf_causal_lm", DATA, seed=5, model_type="qwen2", **SMALL)
    load_initial_weights(fresh.model, tmp_path / "qwen2")
    assert _same(fresh.model, trained.model)


def test_weights_of_another_size_or_architecture_are_one_error_line(tmp_path: Path) -> None:
    _trained("gpt", SMALL, steps=1).export(tmp_path / "small")
    wider = adapters.build("gpt", DATA, seed=0, depth=1, width=32, heads=2)
    with pytest.raises(ConfigError, match=r"transformer\.h\.0\.attn\.c_attn\.bias has shape \(48,\), this model's has \(96,\)"):
        load_initial_weights(wider.model, tmp_path / "small")
    llama = adapters.build("hf_causal_lm", DATA, seed=0, model_type="llama", **SMALL)
    with pytest.raises(ConfigError, match="has weights this model does not"):
        load_initial_weights(llama.model, tmp_path / "small")


class _Planted:
    """Unpickling this creates a file: proof that a loader ran code from the folder."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_pickled_checkpoint_is_refused_without_being_unpickled(tmp_path: Path) -> None:
    folder, planted = tmp_path / "pickled", tmp_path / "ran"
    folder.mkdir()
    torch.save({"w": _Planted(str(planted))}, folder / "pytorch_model.bin")
    model = adapters.build("gpt", DATA, seed=0, **SMALL).model
    with pytest.raises(ConfigError, match="pytorch_model.bin .a pickle"):
        load_initial_weights(model, folder)
    assert not planted.exists()
    with pytest.raises(ConfigError, match="is not a folder"):
        load_initial_weights(model, tmp_path / "absent")
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ConfigError, match="not a readable safetensors file"):
        load_initial_weights(model, folder)


def test_a_config_with_init_from_starts_the_adapter_there_before_the_optimiser(tmp_path: Path) -> None:
    trained = _trained("gpt", SMALL)
    trained.export(tmp_path / "export")
    started = adapters.build("gpt", DATA, seed=7, init_from=os.fspath(tmp_path / "export"), **SMALL)
    assert _same(started.model, trained.model)
    before = {key: value.clone() for key, value in started.model.state_dict().items()}
    started.train_step(torch.zeros((8, 4, 4), dtype=torch.long))  # the optimiser holds the loaded parameters
    assert any(not torch.equal(before[key], value) for key, value in started.model.state_dict().items())


def test_init_from_leaves_every_committed_run_id_as_it_was() -> None:
    """The knob is omitted from specs at its default, so re-resolving each committed record's knobs gives its id."""
    from benchmark.core.records import load_records
    from benchmark.run.spec import resolve_spec

    records = load_records([Path(__file__).resolve().parents[1] / "leaderboard" / "v2" / "runs"])
    for record in records:
        spec = resolve_spec(record.task_name, record.task_config, record.adapter_name, record.adapter_config, record.n_train, record.seed, {k: v for k, v in record.protocol.items() if k != "version"})
        assert spec.run_id == record.run_id
    assert any(record.adapter_name in ("gpt", "dit", "hf_causal_lm", "unet") for record in records)


def test_init_from_is_part_of_the_run_id_and_must_name_a_folder(tmp_path: Path) -> None:
    from benchmark.run.spec import resolve_spec

    plain = resolve_spec("parity", {}, "gpt", SMALL, 16, 0)
    started = resolve_spec("parity", {}, "gpt", {**SMALL, "init_from": os.fspath(tmp_path)}, 16, 0)
    assert plain.run_id != started.run_id and "init_from" not in dict(plain.adapter.config)
    with pytest.raises(ConfigError, match="init_from"):
        resolve_spec("parity", {}, "gpt", {**SMALL, "init_from": os.fspath(tmp_path / "absent")}, 16, 0)
