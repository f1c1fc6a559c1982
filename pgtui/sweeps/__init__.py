"""Sweeps: a grid of settings x seeds, on this machine or on Ray Tune."""
