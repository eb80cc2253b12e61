"""Running a course, on the trusted side, after grading: the exercises that ship inside the
package (``library``), the wheel of this package (``wheel``), the Gradescope autograder
bundle (``gradescope``) and the student handout without the answers (``handout``).

Imports the earlier stages (spec, results, run, outputs), never the sandbox's child side.
"""
