"""A conformance double of the province's upstream (the DVCQG adapter contract), for IT staff to
rehearse against and for the tests: it checks every request against the rules public sources
show (each rule named, with its source and confidence), injects faults on demand and exposes what
it stored. docs/upstream-double.md describes how to run it, every rule and the fault syntax.

``rules`` and ``faults`` import nothing beyond the standard library, so a sender can run the
same rules as a pre-flight check (``Checker(unit).snapshot(item, "data[0]")``) without the
server stack; ``app`` (FastAPI) is imported only by whoever serves the double."""

from __future__ import annotations
