"""Which transformers causal-LM model types `hf_causal_lm` can train and sample here, at 2 layers × 64.

Run `python tests/perf/sweep_hf_model_types.py [model_type ...]` (all 196 types of transformers 5.24 by
default, a few minutes on one core). Each type is built through the adapter (its smoke test included), takes
one training step and draws four samples; one line per type says OK with the parameter count, or why not.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import adapters  # noqa: E402
from adapters import DataSpec  # noqa: E402


def main() -> None:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    from transformers.utils import logging as hf_logging

    warnings.filterwarnings("ignore")
    hf_logging.set_verbosity_error()
    torch.set_num_threads(1)
    model_types = sys.argv[1:] or sorted(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)
    working = 0
    for model_type in model_types:
        try:
            adapter = adapters.build("hf_causal_lm", DataSpec((6, 6), 2), model_type=model_type, depth=2, width=64, batch_size=8)
            loss = adapter.train_step(torch.randint(0, 2, (8, 6, 6), generator=torch.Generator().manual_seed(0)))
            samples = adapter.sample(4, torch.Generator().manual_seed(0))
            assert math.isfinite(loss) and samples.shape == (4, 6, 6), (loss, samples.shape)
            working += 1
            print(f"OK    {model_type}: {adapter.num_parameters():,} parameters, loss {loss:.3f}", flush=True)
        except Exception as error:  # noqa: BLE001 - the point is to list every failure
            print(f"FAIL  {model_type}: {' '.join(str(error).split())[:240]}", flush=True)
    print(f"\n{working} of {len(model_types)} model types train and sample")


if __name__ == "__main__":
    main()
