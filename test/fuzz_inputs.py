"""Seeded generators of malformed camera messages and Detect requests for the fuzz tests.

Every case is drawn from ``numpy.random.default_rng(seed)``, so a failing case is reproduced by its
seed and position. The generators take the message classes as arguments (rclpy's sensor_msgs here);
sizes stay small so ten thousand cases run in seconds, except the "bombs": tiny messages whose
header announces a huge image, which must be refused before anything is decoded.

Kinds of cases (the name is kept beside each message for failure reports):
- Image: a valid frame of a random encoding and size; then one or two mutations of its fields
  (encoding junk, long or non-ASCII strings, zero/huge/odd sizes, step too small or huge, data
  truncated, extended or empty, big-endian flag) or a raw "bomb" (huge width x height, little data);
- CompressedImage: JPEG/PNG of a random scene, then truncation, bit flips, bytes overwritten,
  header sizes rewritten (PNG IHDR, JPEG SOF) to zero or to huge values, other codecs (BMP, TIFF,
  WebP), random bytes, empty data, junk format strings; and PNG decompression bombs;
- Detect: a request holding one of the above (image or compressed_image) and a random
  score_threshold (negative, above 1, NaN, infinite).
"""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16", "yuv422", "yuv422_yuy2", "uyvy", "yuyv")
CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "mono16": 2, "yuv422": 2,
            "yuv422_yuy2": 2, "uyvy": 2, "yuyv": 2}
JUNK_STRINGS = ("", "RGB8 ", "bayer_rggb8", "16UC1", "8UC3", "jpeg; compressedDepth", "\u00b2", "\x00\x01",
                "é" * 50, "x" * 3000, "png" * 100, "rgb8\x00")
UINT32_MAX = 2**32 - 1


def scene(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A small BGR picture with structure (so JPEG/PNG streams have real content)."""
    image = np.full((height, width, 3), rng.integers(0, 256, 3), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        radius = int(rng.integers(1, max(2, min(width, height))))
        cv2.circle(image, (x, y), radius, rng.integers(0, 256, 3).tolist(), -1)
    return image


def _valid_image(rng, image_class, encoding: str | None = None):
    encoding = encoding or str(rng.choice(ENCODINGS))
    height, width = int(rng.integers(1, 64)), int(rng.integers(1, 64)) * 2
    step = width * CHANNELS[encoding] + int(rng.choice([0, 0, 0, 3, 64]))
    data = rng.integers(0, 256, step * height, dtype=np.uint8).tobytes()
    return image_class(height=height, width=width, encoding=encoding, is_bigendian=int(rng.integers(0, 2)),
                       step=step, data=data)


def _mutate_image(rng, msg) -> str:
    mutation = str(rng.choice(["encoding", "height", "width", "step", "truncate", "extend", "empty", "sizes",
                               "bomb", "odd_width"]))
    if mutation == "encoding":
        msg.encoding = str(rng.choice(JUNK_STRINGS + tuple(e.upper() for e in ENCODINGS)))
    elif mutation == "height":
        msg.height = int(rng.choice([0, 1, msg.height + 1, msg.height * 7, 65535, UINT32_MAX]))
    elif mutation == "width":
        msg.width = int(rng.choice([0, 1, msg.width + 1, msg.width * 3, 65535, UINT32_MAX]))
    elif mutation == "step":
        msg.step = int(rng.choice([0, 1, max(0, msg.step - 1), msg.step * 2, UINT32_MAX]))
    elif mutation == "truncate":
        msg.data = bytes(msg.data)[: int(rng.integers(0, max(1, len(msg.data))))]
    elif mutation == "extend":
        msg.data = bytes(msg.data) + rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes()
    elif mutation == "empty":
        msg.data = b""
    elif mutation == "sizes":
        msg.height, msg.width, msg.step = (int(v) for v in rng.integers(0, 5000, 3))
    elif mutation == "bomb":  # huge announced size, little data: refused from the fields alone
        msg.height, msg.width = 60000, 60000
        msg.step = msg.width * CHANNELS.get(msg.encoding.lower(), 3)
    else:
        msg.width = msg.width + 1
    return mutation


def image_case(rng: np.random.Generator, image_class):
    msg = _valid_image(rng, image_class)
    if rng.random() < 0.08:
        return "image valid", msg
    names = [_mutate_image(rng, msg) for _ in range(int(rng.integers(1, 3)))]
    return "image " + "+".join(names), msg


def png_bomb(width: int, height: int) -> bytes:
    """A grayscale PNG of ``width`` x ``height`` black pixels: a few hundred KB that decode to width*height*3 bytes.

    Rows are compressed as they are produced, so making it never holds the image in memory.
    """
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    compressor = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then black pixels
    parts = [compressor.compress(row) for _ in range(height)]
    idat = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _rewrite_size(data: bytes, width: int, height: int) -> bytes:
    """The same stream with the size in its PNG IHDR or first JPEG SOF rewritten."""
    data = bytearray(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        data[16:24] = struct.pack(">II", width, height)
        return bytes(data)
    position = 2
    while position + 9 < len(data):
        marker = data[position + 1]
        length = int.from_bytes(data[position + 2:position + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            data[position + 5:position + 9] = struct.pack(">HH", height & 0xFFFF, width & 0xFFFF)
            return bytes(data)
        position += 2 + length
    return bytes(data)


def compressed_case(rng: np.random.Generator, compressed_class, small_bomb: bytes):
    height, width = int(rng.integers(1, 80)), int(rng.integers(1, 80))
    codec = str(rng.choice([".jpg", ".png"]))
    data = cv2.imencode(codec, scene(rng, height, width))[1].tobytes()
    fmt = codec.lstrip(".").replace("jpg", "jpeg")
    mutation = str(rng.choice(["valid", "truncate", "flip", "overwrite", "size_huge", "size_zero", "other_codec",
                               "random", "empty", "format", "bomb", "prefix"]))
    if mutation == "truncate":
        data = data[: int(rng.integers(0, len(data)))]
    elif mutation == "flip":
        flipped = bytearray(data)
        for position in rng.integers(0, len(flipped), int(rng.integers(1, 8))):
            flipped[position] ^= 1 << int(rng.integers(0, 8))
        data = bytes(flipped)
    elif mutation == "overwrite":
        start = int(rng.integers(0, len(data)))
        data = data[:start] + rng.integers(0, 256, 32, dtype=np.uint8).tobytes() + data[start + 32:]
    elif mutation == "size_huge":
        data = _rewrite_size(data, int(rng.choice([65500, 40000, 10**6 if codec == ".png" else 65535])),
                             int(rng.choice([65500, 30000, 10**6 if codec == ".png" else 65535])))
    elif mutation == "size_zero":
        data = _rewrite_size(data, 0, int(rng.integers(0, 10)))
    elif mutation == "other_codec":
        data = cv2.imencode(str(rng.choice([".bmp", ".tiff", ".webp", ".ppm"])), scene(rng, height, width))[1].tobytes()
    elif mutation == "random":
        data = rng.integers(0, 256, int(rng.integers(1, 2048)), dtype=np.uint8).tobytes()
    elif mutation == "empty":
        data = b""
    elif mutation == "format":
        fmt = str(rng.choice(JUNK_STRINGS))
    elif mutation == "bomb":
        data = small_bomb
    elif mutation == "prefix":  # e.g. compressedDepth's 12-byte header before the PNG
        data = bytes(12) + data
    return f"compressed {fmt[:12]!r} {mutation}", compressed_class(format=fmt, data=data)


def detect_case(rng: np.random.Generator, request_class, image_class, compressed_class, small_bomb: bytes):
    request = request_class()
    if rng.random() < 0.5:
        name, request.image = image_case(rng, image_class)
    else:
        name, request.compressed_image = compressed_case(rng, compressed_class, small_bomb)
    request.score_threshold = float(rng.choice([0.0, 0.3, -1.0, 1.5, np.nan, np.inf, -np.inf]))
    return f"detect {name} threshold {request.score_threshold}", request
