"""One run: its spec, the protocol loop, eval schedule, batches, evaluation, metrics, clocks and run folder."""
