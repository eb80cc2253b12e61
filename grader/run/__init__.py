"""Grading submissions, on the trusted side: one submission's pytest session and its plugin,
the banned-call scan of its source, and batches of many.

Imports the earlier stages (spec, results, sandbox, kit); the outputs come after it.
"""
