"""two-clocks: measure when a generative model learns a rule (τ_rule) and when it starts copying (τ_mem).

Importing this package does no work: no model building, no file I/O, no registry discovery.
"""

__version__ = "0.1.0"
