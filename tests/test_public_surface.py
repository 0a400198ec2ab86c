"""The public face: what ``import asyncbulk`` (and ``asyncbulk.emulator``) offers, and nothing else.

As httpx's test_exported_members and anyio's test_all_attributes do: ``__all__`` is sorted and
complete, every public name is documented, and nothing private leaks through it.
"""

from __future__ import annotations

import inspect
import types

import pytest

import asyncbulk
import asyncbulk.emulator

PACKAGES = [asyncbulk, asyncbulk.emulator]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_all_is_sorted_and_names_what_the_package_has(package: types.ModuleType) -> None:
    exported = list(package.__all__)
    assert exported == sorted(exported)
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(package, name), name


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_public_attribute_is_exported(package: types.ModuleType) -> None:
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public - set(package.__all__) == set(), "public but not in __all__"


@pytest.mark.parametrize(
    ("package", "name"),
    [(p, n) for p in PACKAGES for n in p.__all__ if not n.startswith("__")],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_every_public_name_is_documented(package: types.ModuleType, name: str) -> None:
    value = getattr(package, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        assert inspect.getdoc(value), f"{package.__name__}.{name} has no docstring"
        for member_name, member in vars(value).items():
            documented = inspect.isfunction(member) or isinstance(member, property)
            if member_name.startswith("_") or not documented:
                continue
            assert inspect.getdoc(member), f"{package.__name__}.{name}.{member_name} has no docstring"


def test_what_the_cli_and_users_use_is_public() -> None:
    used = ("BulkClient", "JobInfo", "JobState", "ProgressDisplay", "LoadOptions", "LoadPlan", "FileRange")
    for name in used:
        assert name in asyncbulk.__all__
    assert callable(asyncbulk.Connection.resume)
    # Connection.client hands out a public type.
    connection = asyncbulk.Connection(instance_url="https://example.my.salesforce.com", access_token="t" * 20)
    assert type(connection.client) is asyncbulk.BulkClient
