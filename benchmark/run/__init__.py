"""One run: its spec, the protocol loop, eval schedule, batches, evaluation, metrics, clocks, run folder, and the ClockMonitor for runs trained elsewhere."""
