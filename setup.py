"""Package layout (metadata lives in pyproject.toml).

The code packages are discovered, so adding a subpackage needs no edit here. The top-level scenes/ and
configs/ folders are mapped into the wheel as the data packages robotschool._data.scenes and
robotschool._data.configs, with every file under them (YAML, URDF, meshes, images).
"""
from setuptools import find_packages, setup

DATA_PACKAGES = {"robotschool._data.scenes": "scenes", "robotschool._data.configs": "configs"}

setup(
    packages=find_packages(include=["robotschool", "robotschool.*"]) + list(DATA_PACKAGES),
    package_dir=DATA_PACKAGES,
    package_data={name: ["*", "**/*"] for name in DATA_PACKAGES},
    exclude_package_data={name: ["**/__pycache__/*", "**/*.pyc"] for name in DATA_PACKAGES},
    include_package_data=False,
    zip_safe=False,
)
