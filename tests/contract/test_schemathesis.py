"""Every operation of the contract, every check: examples, coverage and fuzzing phases.

One test item per operation. Each generated case is sent to the in-process app and checked with
all of Schemathesis's checks (status codes, content types, response schemas and headers,
positive/negative data, ignored auth, unsupported methods and ``Allow``); ``schemathesis.toml``
bounds and seeds the run. The mock is built once for this module: a fresh store per run.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.conftest import fresh_schema

pytestmark = pytest.mark.contract

schema = fresh_schema()


@schema.parametrize()
def test_operation_conforms(case: Any) -> None:
    case.call_and_validate()
