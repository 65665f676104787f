"""pcapng files: sections in either byte order, interfaces with their own resolution.

Layout (draft-ietf-opsawg-pcapng): a sequence of blocks, each ``type, total length,
body, total length``. A Section Header Block (SHB) starts every section and fixes its
byte order; Interface Description Blocks (IDB) number the section's interfaces and
give each its link type and timestamp resolution (``if_tsresol``) and offset
(``if_tsoffset``); packets arrive in Enhanced (EPB), Simple (SPB) or the obsolete
Packet (OPB) blocks. Any other block type is skipped by its length, as the format
intends. The file is read a block at a time (:data:`explorer.capture.records.BLOCK_SIZE`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from explorer.capture.records import SUPPORTED_LINK_TYPES, ReadState, Record, refill
from explorer.errors import CaptureError

__all__ = ["PCAPNG_MAGIC", "iter_pcapng"]

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

_SHB = 0x0A0D0D0A
_IDB = 0x00000001
_OPB = 0x00000002
_SPB = 0x00000003
_EPB = 0x00000006
_BYTE_ORDER_MAGIC = 0x1A2B3C4D

_OPT_ENDOFOPT = 0
_OPT_IF_TSRESOL = 9
_OPT_IF_TSOFFSET = 14
# A block larger than this is a corrupt length field (Wireshark refuses blocks over 16 MiB).
_MAX_BLOCK = 64 * 1024 * 1024


@dataclass(slots=True)
class _Interface:
    link_type: int
    snaplen: int
    units_per_second: float = 1e6  # default resolution: microseconds (pcapng §4.2)
    offset_seconds: int = 0


def _options(body: bytes, start: int, order: str) -> dict[int, bytes]:
    """Return the first value of each option code in ``body[start:]``; stops at a bad length."""
    found: dict[int, bytes] = {}
    offset = start
    while offset + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, offset)
        offset += 4
        if code == _OPT_ENDOFOPT or offset + length > len(body):
            break
        found.setdefault(code, body[offset : offset + length])
        offset += (length + 3) & ~3
    return found


def _interface(body: bytes, order: str) -> _Interface:
    link_type, _reserved, snaplen = struct.unpack_from(order + "HHI", body, 0)
    iface = _Interface(link_type, snaplen)
    options = _options(body, 8, order)
    tsresol = options.get(_OPT_IF_TSRESOL)
    if tsresol:
        value = tsresol[0]
        # MSB clear: a negative power of 10; set: a negative power of 2 (pcapng §4.2).
        iface.units_per_second = float(2 ** (value & 0x7F)) if value & 0x80 else float(10**value)
    tsoffset = options.get(_OPT_IF_TSOFFSET)
    if tsoffset is not None and len(tsoffset) == 8:
        iface.offset_seconds = struct.unpack(order + "q", tsoffset)[0]
    return iface


def iter_pcapng(file: BinaryIO, head: bytes, state: ReadState) -> Iterator[Record]:
    """The records of a pcapng file whose first bytes ``head`` were already read.

    Raises:
        CaptureError: the file does not start with a Section Header Block, a block
            length is impossible, or a packet names an interface that was never
            described. A block cut short by the end of the file is not an error: the
            records before it come out and a problem is noted.
    """
    name = state.name
    if head[:4] != PCAPNG_MAGIC:
        raise CaptureError(f"{name} is not a pcapng file")
    order = "<"
    interfaces: list[_Interface] = []
    data = head
    offset = 0  # position in data
    base = 0  # file offset of data[0]
    number = 0
    last_time = 0.0
    epb = {"<": struct.Struct("<IIIII").unpack_from, ">": struct.Struct(">IIIII").unpack_from}
    header = {"<": struct.Struct("<II").unpack_from, ">": struct.Struct(">II").unpack_from}
    read_header, read_epb = header[order], epb[order]
    # Per interface, what an Enhanced Packet Block needs: (offset seconds, units per
    # second, link type, supported); kept beside ``interfaces``.
    clocks: list[tuple[int, float, int, bool]] = []
    while True:
        if len(data) - offset < 12:
            base += offset
            data = refill(file, data, offset, 12)
            offset = 0
            if not data:
                break
            if len(data) < 12:
                state.problems.append(
                    f"the file is truncated at byte {base + len(data)}: the last block is incomplete"
                )
                break
        block_type, total = read_header(data, offset)
        if block_type == _SHB:  # the same in both byte orders: its byte-order magic decides
            where = base + offset
            bom = data[offset + 8 : offset + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                order = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                order = ">"
            else:
                raise CaptureError(f"{name} is corrupt: bad byte-order magic in the section at byte {where}")
            read_header, read_epb = header[order], epb[order]
            block_type, total = read_header(data, offset)
            interfaces = []
            clocks = []
        if total < 12 or total % 4 or total > _MAX_BLOCK:
            raise CaptureError(
                f"{name} is corrupt: block at byte {base + offset} has impossible length {total}"
            )
        if offset + total > len(data):
            where = base + offset
            base += offset
            data = refill(file, data, offset, offset + total - len(data))
            offset = 0
            if total > len(data):
                state.problems.append(
                    f"the file is truncated at byte {base + len(data)}: the block at byte {where} "
                    f"lacks {total - len(data)} of its {total} bytes"
                )
                break
        start = offset + 8
        end = offset + total - 4
        offset += total
        if block_type == _EPB:
            number += 1
            if not number & 0x3FF:  # for a progress display; exact at the end
                state.frames = number
                state.offset = base + offset
            if end - start < 20:
                raise CaptureError(f"{name} is corrupt: frame {number} block is too short")
            iface_id, ts_high, ts_low, captured, _original = read_epb(data, start)
            if iface_id >= len(clocks):
                raise CaptureError(
                    f"{name} is corrupt: frame {number} names undescribed interface {iface_id}"
                )
            if 20 + captured > end - start:
                raise CaptureError(f"{name} is corrupt: frame {number} is longer than its block")
            seconds, units, link_type, supported = clocks[iface_id]
            time = seconds + ((ts_high << 32) | ts_low) / units
            last_time = time
            if not supported:
                state.unsupported[link_type] = state.unsupported.get(link_type, 0) + 1
                continue
            yield number, time, link_type, data, start + 20, start + 20 + captured
            continue
        state.frames = number
        state.offset = base + offset
        if block_type == _SHB:
            continue
        body = data[start:end]
        if block_type == _IDB:
            if len(body) < 8:
                raise CaptureError(f"{name} is corrupt: an interface description block is too short")
            iface = _interface(body, order)
            interfaces.append(iface)
            clocks.append(
                (
                    iface.offset_seconds,
                    iface.units_per_second,
                    iface.link_type,
                    iface.link_type in SUPPORTED_LINK_TYPES,
                )
            )
            continue
        if block_type not in (_SPB, _OPB):
            continue  # statistics, name resolution, custom, decryption secrets...
        number += 1
        state.frames = number
        if block_type == _SPB:
            if not interfaces or len(body) < 4:
                raise CaptureError(f"{name} is corrupt: frame {number} has no interface")
            iface = interfaces[0]
            (original,) = struct.unpack_from(order + "I", body, 0)
            captured = min(original, len(body) - 4)
            if iface.snaplen:
                captured = min(captured, iface.snaplen)
            packet = body[4 : 4 + captured]
            # A Simple Packet Block has no timestamp: keep the previous frame's time.
            time = last_time
        else:
            if len(body) < 20:
                raise CaptureError(f"{name} is corrupt: frame {number} block is too short")
            iface_id, _drops, ts_high, ts_low, captured, _original = struct.unpack_from(
                order + "HHIIII", body, 0
            )
            if iface_id >= len(interfaces):
                raise CaptureError(
                    f"{name} is corrupt: frame {number} names undescribed interface {iface_id}"
                )
            if 20 + captured > len(body):
                raise CaptureError(f"{name} is corrupt: frame {number} is longer than its block")
            iface = interfaces[iface_id]
            packet = body[20 : 20 + captured]
            time = iface.offset_seconds + ((ts_high << 32) | ts_low) / iface.units_per_second
            last_time = time
        if iface.link_type not in SUPPORTED_LINK_TYPES:
            state.unsupported[iface.link_type] = state.unsupported.get(iface.link_type, 0) + 1
            continue
        yield number, time, iface.link_type, packet, 0, len(packet)
    state.frames = number
    state.offset = base + offset
