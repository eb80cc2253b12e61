"""The untrusted side of the trust boundary: what runs in the sandboxed child.

Everything in this folder runs in the child, next to the submission, and imports only
the standard library, numpy, torch, :mod:`grader.wire` and this folder (a test lists
what importing the entry point loads). It never decides a score: what it sends back
is data the grader checks.

- ``server``: loads the submission and answers the grader's requests (the entry point)
- ``inherited``: nothing of the grader's descriptors or multiprocessing state kept
- ``isolation``: namespaces and the child's own root, resource limits; the level entered
- ``landlock``: the files a child without namespaces may touch
- ``privileges``: capabilities and root's uid given up
- ``seccomp``: the system-call allow-list
- ``recorder``: banned calls and op counts, recorded (advisory)
- ``calm``: a call with dropout held off (for a diagnosis, never a score)
- ``libc``: the C calls the standard library does not wrap
"""
