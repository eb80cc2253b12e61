"""The sandbox, from the grader's side: the submission's bytes read by the grader (``source``),
the child process and its time budget (``process``), the replies checked field by field
(``reply``), the proxy the checks call (``proxy``), the warm forkserver children are forked
from, and the probe of what this machine allows.

The untrusted side lives in :mod:`grader.sandbox.child`; the grader never imports it
(only the forkserver preloads it). This ``__init__`` imports nothing, because the child's
imports pass through it.
"""
