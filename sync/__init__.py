"""Sync: the commune desk's outbox drained to the upstream (district) system, and back.

No Textual here, and nothing heavy at import time: the desk imports :mod:`sync.service` lazily.
Modules: ``protocol`` (wire schema, encodings, signatures), ``keys`` (device key pair),
``state`` (client tables), ``client`` (HTTP), ``replies`` (every upstream value checked and
bounded), ``engine`` (a run) with its seams ``link`` (retried exchanges), ``handshake``,
``push`` and ``pull``, ``bundle`` (USB bundles), ``service`` (what the TUI and CLI call),
``server`` (the reference district server). The outbox itself (rows, states, retention,
status) lives in ``ccdesk/storage/outbox/``.
"""
