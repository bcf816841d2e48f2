"""Secret redaction engine: find secrets in bytes, report them, replace them with markers.

Pure domain code; the proxy addon decides what to do with findings (redact, block, alert).
"""

from gateway.redaction.benign import is_binary_content_type
from gateway.redaction.detector import Anchor, Detector
from gateway.redaction.engine import Redactor, default_detectors
from gateway.redaction.finding import Finding, marker
from gateway.redaction.stream import StreamRedactor

__all__ = [
    "Anchor",
    "Detector",
    "Finding",
    "Redactor",
    "StreamRedactor",
    "default_detectors",
    "is_binary_content_type",
    "marker",
]
