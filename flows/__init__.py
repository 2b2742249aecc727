"""Prefect flows: the order of the steps."""
