"""The ``promptcheck`` command line (typer)."""
