"""Damage an ``.npz`` file the ways disks, copies and hands do: truncation, flipped bits, forged headers.

Each fault takes a path and rewrites the file in place. ``np.savez`` stores members uncompressed
(``ZIP_STORED``), so a member's bytes lie in the file as the local header, then the ``.npy`` data.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"


def truncate(path) -> None:
    """Keeps the first half of the file (an interrupted copy)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _largest_member(path) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as archive:
        arrays = [info for info in archive.infolist() if not info.filename.startswith("__")]  # not a cache's key
        return max(arrays, key=lambda info: info.file_size)


def flip_data_bit(path) -> None:
    """Flips one bit in the middle of the largest member's stored bytes (its CRC no longer matches)."""
    info = _largest_member(path)
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0x01
    path.write_bytes(bytes(data))


def flip_compression_bit(path) -> None:
    """Flips the low bit of every member's compression method in the central directory (stored → 'shrunk')."""
    data = bytearray(path.read_bytes())
    at = data.find(_CENTRAL)
    while at != -1:
        data[at + 10] ^= 0x01
        at = data.find(_CENTRAL, at + 4)
    path.write_bytes(bytes(data))


def flip_local_header_bit(path) -> None:
    """Flips a bit of the first member's local-header signature (a damaged zip header)."""
    data = bytearray(path.read_bytes())
    data[data.find(_LOCAL) + 3] ^= 0x01
    path.write_bytes(bytes(data))


def flip_npy_header(path) -> None:
    """Rewrites the largest member's ``.npy`` shape to claim more data than it holds (CRC fixed up).

    The first dimension becomes all nines (same length, more data); a scalar becomes 99 values.
    """
    info = _largest_member(path)
    with zipfile.ZipFile(path) as archive:
        payload = archive.read(info)
    head_end = payload.index(b"\n") + 1
    header = payload[:head_end].decode("latin1")
    first = re.search(r"'shape': \((\d+)", header)
    if first:  # same length, more data
        forged = header[:first.start(1)] + "9" * len(first.group(1)) + header[first.end(1):]
    else:  # a scalar becomes 99 values, in as many characters
        forged = header.replace("'shape': (), }", "'shape':(99,)}")
    assert forged != header, "the first dimension is already all nines"
    forged_bytes = forged.encode("latin1")
    new_payload = forged_bytes + payload[head_end:]
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start: start + len(new_payload)] = new_payload
    crc = struct.pack("<I", zlib.crc32(new_payload) & 0xFFFFFFFF)
    data[info.header_offset + 14: info.header_offset + 18] = crc  # the local header's CRC
    at = data.find(_CENTRAL)
    while at != -1:  # and the central directory's, for this member
        offset = struct.unpack("<I", data[at + 42: at + 46])[0]
        if offset == info.header_offset:
            data[at + 16: at + 20] = crc
        at = data.find(_CENTRAL, at + 4)
    path.write_bytes(bytes(data))


FAULTS = {"truncated": truncate, "data bit": flip_data_bit, "compression bit": flip_compression_bit,
          "zip header bit": flip_local_header_bit, "npy header shape": flip_npy_header}
