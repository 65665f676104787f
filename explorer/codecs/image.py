"""Images: PNG, JPEG, GIF and WebP, recognised by their signature, sized from their header.

Only headers are read (no pixel decoding here): the format, the width and height, and
what the header says of the pixels. The front ends show the image itself from the raw
bytes. Sources: PNG (ISO/IEC 15948, IHDR §11.2.2), JPEG (ITU T.81, SOFn markers §B.2.2),
GIF89a (§18 logical screen descriptor), WebP (RFC 9649 §2.5-2.7). No I/O.
"""

from __future__ import annotations

from explorer.codecs.base import CodecError, DecodeContext, Decoded, ImageInfo

__all__ = ["ImageCodec", "image_info"]

_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_COLOURS = {0: "grey", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA"}
# SOF markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _png(data: bytes) -> ImageInfo:
    if len(data) < 29 or data[12:16] != b"IHDR":
        raise CodecError("PNG signature without an IHDR chunk")
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    depth, colour = data[24], data[25]
    detail = f"{depth}-bit {_PNG_COLOURS.get(colour, f'colour type {colour}')}"
    return ImageInfo("png", width, height, "image/png", detail)


def _jpeg(data: bytes) -> ImageInfo:
    pos = 2
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            raise CodecError(f"JPEG marker expected at offset {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _SOF:
            if pos + 9 > end:
                break
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            mode = (
                "progressive" if marker == 0xC2 else "baseline" if marker == 0xC0 else f"SOF{marker - 0xC0}"
            )
            return ImageInfo("jpeg", width, height, "image/jpeg", mode)
        if marker == 0xDA or length < 2:
            break
        pos += 2 + length
    raise CodecError("JPEG without a frame header (SOF) in its first bytes")


def _gif(data: bytes) -> ImageInfo:
    if len(data) < 10:
        raise CodecError("GIF header cut short")
    width = int.from_bytes(data[6:8], "little")
    height = int.from_bytes(data[8:10], "little")
    return ImageInfo("gif", width, height, "image/gif", data[3:6].decode("ascii"))


def _webp(data: bytes) -> ImageInfo:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return ImageInfo("webp", width, height, "image/webp", "lossy")
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return ImageInfo("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, "image/webp", "lossless")
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        animated = " animated" if data[20] & 0x02 else ""
        return ImageInfo("webp", width, height, "image/webp", f"extended{animated}")
    raise CodecError("WebP without a VP8, VP8L or VP8X chunk header")


def _kind(data: bytes) -> str | None:
    if data.startswith(_PNG):
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_info(data: bytes) -> ImageInfo:
    """The image's format and size; :class:`CodecError` when it is not one of ours."""
    kind = _kind(data)
    if kind is None:
        raise CodecError("not a PNG, JPEG, GIF or WebP image (no signature)")
    return {"png": _png, "jpeg": _jpeg, "gif": _gif, "webp": _webp}[kind](data)


class ImageCodec:
    name = "image"
    ceiling = 100
    label = "Image (PNG, JPEG, GIF, WebP)"
    leads = frozenset(b"\x89\xffGR")  # the signatures' first bytes

    def sniff(self, payload: bytes, context: DecodeContext) -> int:
        return 100 if _kind(payload) is not None else 0

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded:
        info = image_info(payload)
        value = {
            "format": info.format,
            "mime": info.mime,
            "width": info.width,
            "height": info.height,
            "detail": info.detail,
            "bytes": len(payload),
        }
        text = (
            f"{info.format.upper()} image {info.width}x{info.height}, {info.detail}, {len(payload):,} bytes"
        )
        return Decoded(self.name, payload, value, text, {}, image=info)
