"""Kontur's side of the Brusnika integration."""
