"""Reusable widgets of the desk screens."""
