"""Privacy: keeping protected health information (PHI) out of what Osiris keeps and sends."""

from osiris.privacy.scrub import (
    PLACEHOLDERS,
    SCRUBBER_VERSION,
    PhiKind,
    Scrubber,
    UnknownScrubberVersion,
    scrub,
    scrub_text,
    scrubber,
)

__all__ = [
    "PLACEHOLDERS",
    "SCRUBBER_VERSION",
    "PhiKind",
    "Scrubber",
    "UnknownScrubberVersion",
    "scrub",
    "scrub_text",
    "scrubber",
]
