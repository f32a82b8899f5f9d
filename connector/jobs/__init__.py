"""Scheduled jobs: thin functions that call adapters and core."""
