"""Evidence: the site's signing key, envelopes and the tamper-evident log."""
