"""The ground floor: config base and `require`, the one Registry, errors, the task and adapter contracts, typed records.

It imports nothing else of the suite; `tasks/`, `adapters/` and every other floor of `benchmark/` stand on it.
"""
