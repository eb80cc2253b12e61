"""The build ships the exercises inside the package: ``exercises/`` is copied to ``grader/exercises/``
of the wheel (everything else is in pyproject.toml). A checkout finds them at ``exercises/`` itself
(``grader.course.library``), so an editable install needs no copy."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithExercises(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "grader" / "exercises"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(HERE / "exercises", target,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildWithExercises})
