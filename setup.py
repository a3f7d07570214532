"""Packaging step that pyproject.toml cannot express: ship the top-level ``circuits/`` inside the package.

Designers ``.include`` the library from ``circuits/`` in the repository (the
canonical source); an installed lim-hw (wheel, ``pip install .``) carries the
same files as ``lim_hw/circuits/`` (package-dir mapping), every subfolder
included. ``lim_hw.circuits_dir()`` finds whichever copy the running installation has.
Everything else (metadata, dependencies, scripts) is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["lim_hw", "lim_hw.*"]) + ["lim_hw.circuits"],
    package_dir={"lim_hw.circuits": "circuits"},
    package_data={"lim_hw": ["py.typed", "data/*.toml", "data/*.csv", "data/**/*"],
                  "lim_hw.circuits": ["*.lib", "**/*"]},
    include_package_data=False,
)
