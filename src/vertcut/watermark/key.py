"""The secret key, the distributor's payload and the key-seeded random streams of the watermark.

Everything random in the mark (which cells carry the pilot and which carry each bit, each cell's
sign, the sign of every chip of frames) is drawn from NumPy generators seeded by SHA-256 of the
key and a label, so the embedder and the detector derive the same pattern from the key alone.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["WatermarkError", "WatermarkKey", "crc8", "payload_for"]

_HEX = re.compile(r"[0-9a-fA-F]{32,64}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_VERSION = b"vertcut-watermark-v1"


class WatermarkError(InputError, ValueError):
    """A watermark key or distributor id is malformed (or the mark cannot be embedded as asked)."""


@dataclass(frozen=True)
class WatermarkKey:
    """A 128- to 256-bit secret, kept as its lower-case hex digits (``str(key)``).

    Its ``repr`` names only a fingerprint, so a key in a log or a traceback does not leak.
    """

    hex: str

    def __post_init__(self) -> None:
        if not _HEX.fullmatch(self.hex):
            raise WatermarkError(_key_form(self.hex))
        object.__setattr__(self, "hex", self.hex.lower())

    @classmethod
    def parse(cls, text: str) -> WatermarkKey:
        """The key written as 32 to 64 hex digits (surrounding white space ignored).

        Raises:
            WatermarkError: anything else; the message says what is expected, without the text.
        """
        if not isinstance(text, str):
            raise WatermarkError("a watermark key must be a string of 32 to 64 hex digits")
        return cls(text.strip())

    @classmethod
    def generate(cls, bits: int = 256) -> WatermarkKey:
        """A fresh random key from :mod:`secrets` (``bits``: 128 to 256, a multiple of 8)."""
        if bits % 8 or not 128 <= bits <= 256:
            raise WatermarkError(f"a watermark key has 128 to 256 bits in whole bytes, not {bits}")
        return cls(secrets.token_hex(bits // 8))

    @property
    def bits(self) -> int:
        return 4 * len(self.hex)

    @property
    def fingerprint(self) -> str:
        """8 hex digits naming the key without revealing it (SHA-256 of the key)."""
        return hashlib.sha256(_VERSION + b"|fingerprint|" + self.hex.encode()).hexdigest()[:8]

    def seed(self, label: str, *extra: int) -> np.random.Generator:
        """A generator for one of the mark's random streams (``label``, then integers such as a block
        index), the same for every process and platform."""
        h = hashlib.sha256(_VERSION + b"|" + label.encode() + b"|" + self.hex.encode())
        for x in extra:
            h.update(b"|%d" % x)
        return np.random.Generator(np.random.PCG64(int.from_bytes(h.digest(), "big")))

    def __str__(self) -> str:
        return self.hex

    def __repr__(self) -> str:
        return f"WatermarkKey(<{self.bits}-bit key {self.fingerprint}>)"


def _key_form(text: str) -> str:
    n = len(text)
    bad = next((c for c in text if c not in "0123456789abcdefABCDEF"), None)
    if bad is not None:
        return f"a watermark key is 32 to 64 hex digits (0-9, a-f); this one has other characters ({n} characters)"
    return f"a watermark key is 32 to 64 hex digits (128 to 256 bits); this one has {n}"


def payload_for(distributor_id: str) -> int:
    """The 32-bit code marked for a distributor: the id itself when it is a decimal number below 2**32,
    else the first 4 bytes of SHA-256 of the id (big-endian).

    Raises:
        WatermarkError: the id is not 1-64 characters of ``A-Z a-z 0-9 . _ -`` starting with a letter
            or digit.
    """
    if not isinstance(distributor_id, str) or not _ID.fullmatch(distributor_id):
        shown = distributor_id if isinstance(distributor_id, str) and len(distributor_id) <= 64 else "(too long)"
        raise WatermarkError(
            f"a distributor id is 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, not {shown!r}"
        )
    if distributor_id.isdigit() and int(distributor_id) < 2**32:
        return int(distributor_id)
    return int.from_bytes(hashlib.sha256(distributor_id.encode()).digest()[:4], "big")


def crc8(value: int, nbits: int = 32) -> int:
    """CRC-8 (polynomial 0x07, initial 0, as CRC-8/SMBUS) of ``value``'s ``nbits`` bits, high bit first."""
    crc = 0
    for i in range(nbits - 1, -1, -1):
        bit = (value >> i) & 1
        top = (crc >> 7) & 1
        crc = (crc << 1) & 0xFF
        if top ^ bit:
            crc ^= 0x07
    return crc
