"""Start a network from existing weights: a `from_pretrained` folder or a run exported by `benchmark export`.

Only safetensors files are read (no pickle: a shared folder cannot run code), sharded ones through their
`*.safetensors.index.json`. The weights must fit the network the adapter built from its knobs: every key and
shape, up to weights the model ties to another (GPT-2's lm_head) and the classifier-free-guidance row that
`export` adds to a DiT's label table. A mismatch is one `ConfigError` line naming the folder and the first key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from benchmark.core.config import ConfigError

WEIGHT_NAMES = ("model.safetensors", "diffusion_pytorch_model.safetensors")  # transformers, diffusers
PICKLED_NAMES = ("pytorch_model.bin", "diffusion_pytorch_model.bin")  # refused: loading them unpickles
LABEL_TABLE = "embedding_table.weight"  # a diffusers label table; export pads it by one row (the null label)


def weight_files(path: str | os.PathLike[str]) -> list[Path]:
    """The safetensors files holding the weights in folder `path` (one file, or the shards an index names)."""
    folder = Path(path)
    where = f"init_from {str(folder)!r}"
    if not folder.is_dir():
        raise ConfigError(f"{where} is not a folder (expected a save_pretrained folder or an exported run)")
    for name in WEIGHT_NAMES:
        if (folder / name).is_file():
            return [folder / name]
        index = folder / f"{name}.index.json"
        if index.is_file():
            try:
                shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                raise ConfigError(f"{where}: {index.name} is not a safetensors index (no weight_map)") from None
            files = [folder / shard for shard in shards]
            missing = [file.name for file in files if not file.is_file() or file.parent != folder]
            if missing:
                raise ConfigError(f"{where}: {index.name} names shards that are not in the folder: {', '.join(missing[:3])}")
            return files
    pickled = [name for name in PICKLED_NAMES if (folder / name).is_file()]
    if pickled:
        raise ConfigError(f"{where} holds only {pickled[0]} (a pickle, which could run code when loaded); save it as safetensors (save_pretrained(..., safe_serialization=True))")
    raise ConfigError(f"{where} holds no {' or '.join(WEIGHT_NAMES)}")


def read_weights(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Every tensor of the folder's safetensors files, on the CPU."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights: dict[str, torch.Tensor] = {}
    for file in weight_files(path):
        try:
            weights.update(load_file(str(file), device="cpu"))
        except (SafetensorError, OSError, ValueError) as error:
            raise ConfigError(f"init_from {str(path)!r}: {file.name} is not a readable safetensors file ({' '.join(str(error).split())[:200]})") from None
    return weights


def load_initial_weights(model: torch.nn.Module, path: str | os.PathLike[str]) -> None:
    """Copy the folder's weights into `model`, refusing any key or shape that does not fit it."""
    weights = read_weights(path)
    own = model.state_dict()
    where = f"init_from {str(path)!r}"
    unexpected = sorted(set(weights) - set(own))
    if unexpected:
        raise ConfigError(f"{where} has weights this model does not ({len(unexpected)}, first {unexpected[0]!r}): it was made for another architecture or size")
    missing = sorted(key for key in set(own) - set(weights) if not _tied(own, key, weights))
    if missing:
        raise ConfigError(f"{where} lacks weights this model has ({len(missing)}, first {missing[0]!r}): it was made for another architecture or size")
    fitted = {}
    for key in sorted(weights):
        value, target = weights[key], own[key]
        if key.endswith(LABEL_TABLE) and value.shape[1:] == target.shape[1:] and value.shape[0] == target.shape[0] + 1:
            value = value[: target.shape[0]]  # the null-label row `export` added back; this model has none
        if value.shape != target.shape:
            raise ConfigError(f"{where}: {key} has shape {tuple(value.shape)}, this model's has {tuple(target.shape)}: match the knobs (depth, width, ...) of the model it came from")
        fitted[key] = value
    with torch.no_grad():
        model.load_state_dict(fitted, strict=False)


def _tied(own: dict[str, torch.Tensor], key: str, weights: dict[str, torch.Tensor]) -> bool:
    """Whether `key` shares its storage with a weight the folder does hold (a tied weight is saved once)."""
    pointer = own[key].data_ptr()
    return any(other in weights and tensor.data_ptr() == pointer for other, tensor in own.items() if other != key)


__all__ = ["LABEL_TABLE", "PICKLED_NAMES", "WEIGHT_NAMES", "load_initial_weights", "read_weights", "weight_files"]
