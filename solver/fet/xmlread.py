"""Safe reading of FET files: defusedxml, a size limit, and clear errors instead of tracebacks."""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

MAX_BYTES = 64 * 1024 * 1024
"""The largest FET example is about 6 MB; anything far beyond that is refused rather than parsed."""


class FetError(ValueError):
    """A FET file that cannot be used, with a message that names the file and what to do."""


def parse_fet_bytes(data: bytes, source: str = "FET file") -> Element:
    """Parse FET XML, refusing DTDs, entities and external references (billion laughs, XXE)."""
    if len(data) > MAX_BYTES:
        raise FetError(
            f"{source}: {len(data) / 1e6:.1f} MB is larger than the {MAX_BYTES / 1e6:.0f} MB limit for FET files"
        )
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise FetError(
            f"{source}: refused unsafe XML ({type(e).__name__}); FET files never need a DTD, entities or "
            "external references, so remove them"
        ) from None
    except ParseError as e:
        raise FetError(f"{source}: not well-formed XML ({e})") from None
    if root.tag != "fet":
        raise FetError(f"{source}: the root element is <{root.tag}>, expected <fet>: is this a FET file?")
    return root


def read_fet(path: str | Path) -> tuple[Element, bytes]:
    """Read and parse a FET file; return its root element and its raw bytes."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise FetError(f"{path}: {size / 1e6:.1f} MB is larger than the {MAX_BYTES / 1e6:.0f} MB limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise FetError(f"{path}: file not found") from None
    except (IsADirectoryError, PermissionError, OSError) as e:
        raise FetError(f"{path}: cannot read the file ({e.strerror or e})") from None
    return parse_fet_bytes(data, str(path)), data
