"""Everything made from results: the terminal summary, Gradescope's results.json, JUnit XML,
the gradebook and the HTML reports.

Each module is a function of :mod:`grader.results` values only, and none imports
torch (a test checks), so saved results can be rendered anywhere.
"""
