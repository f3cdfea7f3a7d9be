"""Textual screens of the desk: layout, wiring and feedback only (no business rules)."""
