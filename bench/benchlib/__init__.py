"""Helpers for bench/run.py: VMM command lines, processes, guests, reports."""
