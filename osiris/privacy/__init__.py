"""Privacy: keeping protected health information (PHI) out of what Osiris keeps and sends."""

from osiris.privacy.scrub import PLACEHOLDERS, scrub, scrub_text

__all__ = ["PLACEHOLDERS", "scrub", "scrub_text"]
