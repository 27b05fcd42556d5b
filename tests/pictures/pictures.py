"""Pictures made by Pillow for the tests: each kind of file an editor may upload, good or bad."""

import io
import struct
import zlib

from PIL import Image, ImageDraw

ORIENTATION = 0x0112
RED, NAVY = (220, 20, 30), (20, 30, 120)
SERIAL = "CAMSERIAL-4417-0921"
GPS_IFD, EXIF_IFD = 0x8825, 0x8769
BODY_SERIAL, LENS_SERIAL, MAKE, MODEL = 0xA431, 0xA435, 0x010F, 0x0110


def picture(image_format="JPEG", size=(1200, 800), *, orientation=None, mode="RGB") -> bytes:
    """A picture whose top-left quarter is red on navy, so which way up it is can be seen."""
    width, height = size
    image = Image.new("RGB", size, NAVY)
    ImageDraw.Draw(image).rectangle((0, 0, width // 4, height // 4), fill=RED)
    options = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[ORIENTATION] = orientation
        options["exif"] = exif.tobytes()
    if image_format == "GIF" or mode == "P":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    elif mode != "RGB":
        image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def located_photo(size=(1600, 1200)) -> bytes:
    """A JPEG as a phone or camera writes it: GPS position (a source's home), the camera's
    maker, model and serial number, the lens serial, in its EXIF."""
    image = Image.new("RGB", size, (90, 140, 60))
    ImageDraw.Draw(image).ellipse((600, 400, 1000, 800), fill=(240, 200, 40))
    exif = Image.Exif()
    exif[MAKE] = "Canon"
    exif[MODEL] = "Canon EOS R5"
    exif.get_ifd(EXIF_IFD).update({BODY_SERIAL: SERIAL, LENS_SERIAL: "LENS-77821"})
    exif.get_ifd(GPS_IFD).update(
        {
            1: "N",
            2: (51.0, 30.0, 26.46),  # latitude
            3: "W",
            4: (0.0, 7.0, 39.04),  # longitude
            6: 35.0,
        }
    )
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def cmyk_jpeg(size=(1000, 700)) -> bytes:
    image = Image.new("CMYK", size, (0, 255, 255, 0))  # print red
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def sixteen_bit_png(size=(800, 600)) -> bytes:
    width, height = size
    row = (52000).to_bytes(2, "little") * (width // 2) + b"\0\0" * (width - width // 2)
    image = Image.frombytes("I;16", size, row * height)  # bright left half, black right half
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def animated_gif(size=(800, 500), frames=3) -> bytes:
    colours = [(200, 20, 20), (20, 200, 20), (20, 20, 200)]
    images = [Image.new("RGB", size, colours[n % 3]).convert("P") for n in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def big_photo(size=(6000, 4000)) -> bytes:
    """A 24-megapixel camera picture (with some detail, so it does not compress to nothing)."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 250):
        draw.line((x, 0, size[0] - x, size[1]), fill=(200, 30, 30), width=9)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def png_bomb(width=30_000, height=30_000) -> bytes:
    """A valid PNG declaring width × height one-bit pixels, all zero: about 110 KB that would
    decode to 900 million pixels (several gigabytes once Pillow converts them)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed bits
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800" onload="alert(1)">'
    b"<script>fetch('/admin/').then(r => r.text()).then(alert)</script>"
    b'<rect width="1200" height="800" fill="red"/></svg>'
)


def near(colour, expected, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(colour[:3], expected, strict=True))
