"""Time the Pillow renderer on a T-shirt-like design (not a test).

A 1000 × 1000 render of: a body colour, a 500 × 500 photo zone holding a sanitized 1200 × 1200 JPEG photo,
and a line of text. Each run uses a fresh renderer and a fresh copy of the request. The font cache (one
per process, by design) is emptied before each run of the first series ("cold fonts") and kept in the
second ("warm fonts"). CPU time (``time.process_time``) is the figure to read on a shared machine.

Run: ``.venv/bin/python bench/render.py [runs]``
"""

from __future__ import annotations

import io
import random
import statistics
import sys
import time

from PIL import Image, ImageDraw, ImageFilter

from customshop.adapters.imaging import PillowImageProcessor, PillowRenderer
from customshop.adapters.imaging.typefaces import load_font
from customshop.application.ports import RenderRequest
from customshop.domain.template_parsing import parse_definition
from customshop.domain.validation import AssetInfo, parse_design

TEMPLATE = {
    "canvas": {"width": 1000, "height": 1000, "background": "#f4f4f4"},
    "zones": [
        {"id": "body", "type": "color", "palette": ["#ffffff", "#1f3a5f", "#c0392b"], "default": "#ffffff"},
        {"id": "photo", "type": "image", "area": {"x": 250, "y": 200, "width": 500, "height": 500}},
        {
            "id": "slogan",
            "type": "text",
            "fonts": ["Serif", "Sans", "Mono"],
            "palette": ["#ffffff", "#000000"],
            "area": {"x": 150, "y": 750, "width": 700, "height": 120},
        },
    ],
}


def photo_jpeg() -> bytes:
    """A photo-like 1200 × 1200 JPEG: smooth gradients, shapes and noise (so it does not compress away)."""
    rng = random.Random(7)
    image = Image.linear_gradient("L").resize((1200, 1200)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y, r = rng.randrange(1200), rng.randrange(1200), rng.randrange(20, 200)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(3))
    grain = Image.frombytes("L", (1200, 1200), rng.randbytes(1200 * 1200)).convert("RGB")
    image = Image.blend(image, grain, 0.08)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(runs: int) -> None:
    photo = PillowImageProcessor().sanitize(io.BytesIO(photo_jpeg()))
    definition = parse_definition(TEMPLATE, product_id="p", option_sets={})
    asset = AssetInfo("a1", photo.content_type, photo.width, photo.height, len(photo.data))
    options = {
        "body": "#1f3a5f",
        "photo": {"asset_id": "a1"},
        "slogan": {"text": "Best Dad Since 1986", "font": "Serif", "color": "#ffffff"},
    }
    design = parse_design(definition, {}, options, assets={"a1": asset})

    png = b""
    print(f"photo: {photo.content_type} {photo.width}×{photo.height}, {len(photo.data)} bytes")
    for label, cold_fonts in (("cold fonts", True), ("warm fonts", False)):
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(runs):
            if cold_fonts:
                load_font.cache_clear()
            request = RenderRequest(definition, design, {"a1": bytes(photo.data)}, {}, 1000)
            renderer = PillowRenderer()
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            png = renderer.render(request)
            cpu.append((time.process_time() - cpu_start) * 1000)
            wall.append((time.perf_counter() - wall_start) * 1000)
        if cold_fonts:
            print(f"first render in this process: cpu {cpu[0]:.1f} ms, wall {wall[0]:.1f} ms")
        print(
            f"{runs} renders, {label}: "
            f"cpu median {statistics.median(cpu):.1f} ms, p95 {percentile(cpu, 0.95):.1f} ms; "
            f"wall median {statistics.median(wall):.1f} ms, p95 {percentile(wall, 0.95):.1f} ms"
        )
    fonts = load_font.cache_info().currsize
    print(f"output: 1000×1000 PNG, {len(png)} bytes; font sizes measured per render: {fonts}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
