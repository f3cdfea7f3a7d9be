"""Sync: the commune desk's outbox drained to the upstream (district) system, and back.

No Textual here, and nothing heavy at import time: the desk imports :mod:`sync.service` lazily.
Modules: ``protocol`` (wire schema, encodings, signatures), ``keys`` (device key pair),
``state`` (client tables), ``outbox`` (row state transitions), ``client`` (HTTP), ``engine``
(push/pull runs), ``bundle`` (USB bundles), ``service`` (what the TUI and CLI call),
``server`` (the reference district server).
"""
