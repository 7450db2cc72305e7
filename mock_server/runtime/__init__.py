"""The mock's own per-app state (not the Flowdock world): journal, coverage, faults, report."""

from mock_server.runtime.core import Runtime

__all__ = ["Runtime"]
