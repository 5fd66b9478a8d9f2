"""Measurement primitives: the exact allocation counter (allocs) and its calibration."""
