"""Imported by a program only after its first pause."""

MARKER = object()
