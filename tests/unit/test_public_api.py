"""The public API of a package is what its `__all__` names, and every name there exists."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["shared.service", "shared.service.auth", "shared.database", "shared.config", "shared.skills", "shared.embeddings"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_exists(package: str) -> None:
    module = importlib.import_module(package)

    missing = [name for name in module.__all__ if not hasattr(module, name)]

    assert missing == []


@pytest.mark.parametrize("package", PACKAGES)
def test_all_has_no_duplicates(package: str) -> None:
    names = importlib.import_module(package).__all__

    assert len(names) == len(set(names))
