"""The Pillow image processor on real bytes: what it accepts, what it refuses, and what it strips."""

from __future__ import annotations

import io
import random
import resource
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from customshop.adapters.imaging import PillowImageProcessor
from customshop.application.ports import SanitizedImage, UnsupportedImage

ORIENTATION = 0x0112


@pytest.fixture
def processor() -> PillowImageProcessor:
    return PillowImageProcessor()


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """An RGB image of random pixels, so that its encodings do not shrink to nothing."""
    width, height = size
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(width * height * 3))


def sanitize(processor: PillowImageProcessor, data: bytes) -> SanitizedImage:
    return processor.sanitize(io.BytesIO(data))


def refusal(processor: PillowImageProcessor, data: bytes) -> str:
    with pytest.raises(UnsupportedImage) as caught:
        sanitize(processor, data)
    return caught.value.code


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bilevel_png(width: int, height: int, idat: bytes | None = None) -> bytes:
    """A 1-bit PNG of ``width`` × ``height`` written by hand: all black (compressed to a few KB), or
    with the given IDAT body."""
    if idat is None:
        compressor = zlib.compressobj(9)
        row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed pixels
        idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_png_jpeg_and_webp_are_accepted_in_their_own_format(
    processor: PillowImageProcessor, fmt: str, content_type: str
) -> None:
    result = sanitize(processor, encode(noise((30, 20)), fmt))

    assert (result.content_type, result.width, result.height) == (content_type, 30, 20)
    with Image.open(io.BytesIO(result.data)) as image:
        assert (image.format, image.size, image.mode) == (fmt, (30, 20), "RGB")


def test_the_type_comes_from_the_bytes_not_the_file_name(
    processor: PillowImageProcessor, tmp_path: Path
) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_bytes(encode(noise((8, 8)), "PNG"))

    with path.open("rb") as upload:
        result = processor.sanitize(upload)

    assert result.content_type == "image/png"


def test_an_upload_that_cannot_seek_is_read_whole(processor: PillowImageProcessor) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    upload = io.BufferedReader(Pipe(encode(noise((8, 8)), "PNG")))
    assert not upload.seekable()

    assert processor.sanitize(upload).content_type == "image/png"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_types_are_unsupported(processor: PillowImageProcessor, fmt: str) -> None:
    assert refusal(processor, encode(noise((8, 8)), fmt)) == "unsupported_type"


@pytest.mark.parametrize(
    "data",
    [
        random.Random(1).randbytes(4096),
        b"name,price\nTee,1500\n" * 20,
        b"",
        b"\x89PNG\r\n\x1a\n",  # a PNG signature and nothing else
    ],
    ids=["random-bytes", "text", "empty", "png-signature-only"],
)
def test_what_is_no_image_is_undecodable(processor: PillowImageProcessor, data: bytes) -> None:
    assert refusal(processor, data) == "undecodable"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_truncated_image_is_undecodable(processor: PillowImageProcessor, fmt: str) -> None:
    whole = encode(noise((64, 64)), fmt)

    assert refusal(processor, whole[: len(whole) // 2]) == "undecodable"


def test_a_corrupt_png_is_undecodable(processor: PillowImageProcessor) -> None:
    assert refusal(processor, bilevel_png(64, 64, idat=b"not zlib data at all")) == "undecodable"


def test_a_small_file_of_too_many_pixels_is_refused_before_decoding(processor: PillowImageProcessor) -> None:
    bomb = bilevel_png(7_000, 7_000)  # 49 megapixels of a valid image, in a few kilobytes
    assert len(bomb) < 20_000
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    assert refusal(processor, bomb) == "decompression_bomb"

    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kib < 20_000  # decoding would have taken at least 49 MB


def test_pillows_own_bomb_error_is_a_decompression_bomb(processor: PillowImageProcessor) -> None:
    # 10 gigapixels: Pillow itself refuses to open it; only the header is ever read.
    header_only = bilevel_png(100_000, 100_000, idat=zlib.compress(b"\x00" * 64))

    assert refusal(processor, header_only) == "decompression_bomb"


def test_the_pixel_limit_is_the_processors_to_set() -> None:
    small = PillowImageProcessor(max_pixels=100)
    image = encode(noise((10, 10)), "PNG")

    assert sanitize(small, image).width == 10
    assert refusal(small, encode(noise((10, 11)), "PNG")) == "decompression_bomb"


def test_exif_orientation_is_applied_and_the_exif_dropped(processor: PillowImageProcessor) -> None:
    # Stored 40 wide and 20 high, left half red; orientation 6 means "turn 90° clockwise to view".
    stored = Image.new("RGB", (40, 20), "blue")
    stored.paste("red", (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "Camera maker"
    data = encode(stored, "JPEG", exif=exif.tobytes(), quality=95)

    result = sanitize(processor, data)

    assert (result.width, result.height) == (20, 40)
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.size == (20, 40)
        assert not image.getexif()
        assert "exif" not in image.info
        red, _, blue = image.convert("RGB").getpixel((10, 5))  # type: ignore[misc]
        assert red > 200 > blue  # the left half of the stored image is now on top


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_damaged_exif_does_not_refuse_the_image(processor: PillowImageProcessor) -> None:
    data = encode(noise((12, 8)), "JPEG", exif=b"Exif\x00\x00MM\x00*\xff\xff\xff\xffbroken")

    result = sanitize(processor, data)

    assert (result.width, result.height) == (12, 8)
    assert b"broken" not in result.data


def test_png_text_chunks_and_other_metadata_are_stripped(processor: PillowImageProcessor) -> None:
    info = PngInfo()
    info.add_text("Comment", "taken at 12 Secret Street")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS</x:xmpmeta>")
    info.add_text("Author", "Anna", zip=True)
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(noise((16, 16)), "PNG", pnginfo=info, exif=exif.tobytes(), icc_profile=icc, dpi=(300, 300))

    result = sanitize(processor, data)

    with Image.open(io.BytesIO(result.data)) as image:
        image.load()
        assert image.info == {}
        assert not image.getexif()
    assert b"Secret" not in result.data
    assert b"Anna" not in result.data


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_metadata_is_stripped(processor: PillowImageProcessor, fmt: str) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(
        noise((16, 16)), fmt, exif=exif.tobytes(), icc_profile=icc, xmp=b"<x:xmpmeta>GPS</x:xmpmeta>"
    )

    result = sanitize(processor, data)

    with Image.open(io.BytesIO(result.data)) as image:
        assert not image.getexif()
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
    assert b"Camera maker" not in result.data
    assert b"xmpmeta" not in result.data


def test_a_broken_icc_profile_is_dropped_with_the_pixels_kept(processor: PillowImageProcessor) -> None:
    result = sanitize(processor, encode(Image.new("RGB", (8, 8), "red"), "PNG", icc_profile=b"garbage"))

    with Image.open(io.BytesIO(result.data)) as image:
        assert "icc_profile" not in image.info
        assert image.getpixel((4, 4)) == (255, 0, 0)


def test_a_cmyk_jpeg_becomes_rgb(processor: PillowImageProcessor) -> None:
    result = sanitize(processor, encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"))

    assert result.content_type == "image/jpeg"
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.mode == "RGB"
        red, green, blue = image.getpixel((8, 8))  # type: ignore[misc]
        assert red > 200
        assert max(green, blue) < 50


def test_a_palette_png_with_transparency_becomes_rgba(processor: PillowImageProcessor) -> None:
    image = Image.new("P", (8, 8), 0)
    image.putpalette([255, 0, 0, 0, 0, 255])
    image.paste(1, (0, 0, 4, 8))
    data = encode(image, "PNG", transparency=0)

    result = sanitize(processor, data)

    with Image.open(io.BytesIO(result.data)) as clean:
        assert clean.mode == "RGBA"
        assert clean.getpixel((1, 1)) == (0, 0, 255, 255)
        assert clean.getpixel((6, 6))[3] == 0  # type: ignore[index]


def test_a_16_bit_grey_png_is_scaled_to_8_bits(processor: PillowImageProcessor) -> None:
    result = sanitize(processor, encode(Image.new("I;16", (8, 8), 40_000), "PNG"))

    with Image.open(io.BytesIO(result.data)) as image:
        assert (image.mode, image.getpixel((0, 0))) == ("L", 40_000 // 256)


def test_a_multi_picture_jpeg_is_a_jpeg_of_its_first_picture(processor: PillowImageProcessor) -> None:
    first, second = Image.new("RGB", (16, 16), "red"), Image.new("RGB", (32, 32), "blue")
    data = encode(first, "MPO", save_all=True, append_images=[second])

    result = sanitize(processor, data)

    assert (result.content_type, result.width, result.height) == ("image/jpeg", 16, 16)
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.format == "JPEG"
