"""The examples in the domain's docstrings are documentation; keep them true."""

import doctest
import importlib

import pytest

MODULES = ["money", "numbering", "references", "models", "calc", "credit", "lifecycle"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"functions.domain.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
