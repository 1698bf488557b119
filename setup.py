"""Packaging beyond pyproject.toml: the repository's top-level models/ and assets/ travel in the package
as guigen/models and guigen/assets (found at run time by guigen/core/resources.py)."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["guigen", "guigen.*"]) + ["guigen.models", "guigen.assets"],
    package_dir={"guigen.models": "models", "guigen.assets": "assets"},
    package_data={"guigen.models": ["*.safetensors", "*.md"],
                  "guigen.assets": ["*.svg", "*.png", "*.desktop", "*.xml"]},
)
