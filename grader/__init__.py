"""Autograder for attention-mechanism exercises.

The folders say which side of the trust boundary a module is on and which stage of
the pipeline it belongs to (each imports only earlier stages):

- ``spec``, ``results``, ``errors``, ``wire``: what an exercise declares, the results
  model, the verdicts checks raise, the protocol both sides of the sandbox speak;
- ``sandbox/``: the child process, its proxy and the warm forkserver, on the grader's
  side; ``sandbox/child/``: the untrusted side, which runs beside the submission;
- ``kit/``: everything a check imports (also for instructors' own checks);
- ``run/``: grading one submission (pytest and its plugin), the banned-call scan, batches
  (a class's entries in LMS layouts, archives, rosters, Dask);
- ``outputs/``: terminal, results.json, JUnit, gradebook and HTML, from results only;
- ``course/``: after grading, trusted: the shipped exercises, the package's wheel, the
  Gradescope bundle and the student handout;
- ``api`` and ``cli``: the keyword-only API behind every verb, and the ``grade`` command.

Kept import-light on purpose: the sandboxed child imports this package too.
"""

__version__ = "0.1.0"
