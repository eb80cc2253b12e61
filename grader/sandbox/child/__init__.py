"""The untrusted side of the trust boundary: what runs in the sandboxed child.

Everything in this folder runs in the child, next to the submission, and imports only
the standard library, numpy, torch, :mod:`grader.wire` and this folder (a test lists
what importing the entry point loads). It never decides a score: what it sends back
is data the grader checks.

- ``server``: loads the submission and answers the grader's requests (the entry point)
- ``isolation``: namespaces, hidden folders, resource limits; the level reached
- ``privileges``: capabilities and root's uid given up
- ``seccomp``: the system-call filter
- ``recorder``: banned calls and op counts, recorded (advisory)
- ``libc``: the C calls the standard library does not wrap
"""
