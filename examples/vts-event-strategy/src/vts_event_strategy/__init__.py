"""An example vts plugin: the `event_per_publish` strategy and the `wait-timeout` scenario.

Both reach vts through entry points (`vts.strategies`, `vts.scenarios` in pyproject.toml);
nothing in vts names this package.
"""
