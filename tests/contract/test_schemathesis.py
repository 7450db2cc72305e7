"""Every operation of the contract, every check: examples, coverage and fuzzing phases.

One test item per operation. Each generated case is sent to the in-process app and checked with
all of Schemathesis's checks (status codes, content types, response schemas and headers,
positive/negative data, ignored auth, unsupported methods and ``Allow``); ``schemathesis.toml``
bounds and seeds the run. The mock is built once for this module: a fresh store per run.

Two runs: the strict mode (the contract exactly, every check) and the default, compatible mode
that users run, with fewer examples and only the checks that mode contradicts by design turned
off (``COMPATIBLE_MODE_CHECKS``, each with its reason).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.conftest import fresh_schema

pytestmark = pytest.mark.contract

schema = fresh_schema()
compatible = fresh_schema(strict=False)


@schema.parametrize()
def test_operation_conforms(case: Any) -> None:
    case.call_and_validate()


@compatible.parametrize()
def test_operation_conforms_in_compatible_mode(case: Any) -> None:
    case.call_and_validate()
