"""pytest-benchmark over the suite's scenarios (run with `make bench-pytest`)."""
