"""Many runs: sweep files and flags, the validated plan, plugins, and the backends that execute it."""
