"""A conformance double of the province's upstream (the DVCQG adapter contract), for IT staff to
rehearse against and for the tests: it checks every request against the rules public sources
show (each rule named, with its source and confidence), injects faults on demand and exposes what
it stored. docs/upstream-double.md describes how to run it, every rule and the fault syntax."""

from __future__ import annotations

from sync.upstream.double.app import DoubleConfig, create_app
from sync.upstream.double.faults import FaultSpec, parse_faults

__all__ = ["DoubleConfig", "FaultSpec", "create_app", "parse_faults"]
