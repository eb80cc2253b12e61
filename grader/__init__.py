"""Autograder for attention-mechanism exercises.

Kept import-light on purpose: ``grader.child`` runs inside the sandboxed child,
which must not pull in the trusted modules.
"""

__version__ = "0.1.0"
