"""Known mistakes, implemented on purpose, so the grader can name the one a student made.

Each exercise's module lists ``MISTAKES``: an id, the plain-words message a student
sees, and how to compute that mistake's output from the same inputs. The
grader compares a wrong answer with each (``grader.diagnose``) and reports a
diagnosis only on an exact match within tolerance.
"""
