"""Ship the catalog, playbooks and report templates inside the wheel.

They live at the top of the repository (one file per check, reviewed as content), and
are copied into ``osiris/_data/`` at build time so that ``pip install .`` works without
a checkout. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("checks", "playbooks", "reports")


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        root = Path(__file__).parent
        for name in SHIPPED:
            source = root / name
            if source.is_dir():
                target = Path(self.build_lib) / "osiris" / "_data" / name
                shutil.copytree(source, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithData})
