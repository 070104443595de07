"""Helpers shared by the whole test suite (import them from the submodules)."""
