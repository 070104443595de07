"""Brusnika sandbox: a real HTTP server implementing the whole contract over generated data."""
