"""Scanning: one probe bundle per host, run once, evaluated locally."""
