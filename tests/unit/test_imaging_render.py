"""The Pillow renderer on real templates, designs and pictures, checked pixel by pixel."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image

from customshop.adapters.imaging import PillowRenderer
from customshop.adapters.imaging.typefaces import font_path
from customshop.application.ports import RenderRequest
from customshop.domain.catalog import Option, OptionSet
from customshop.domain.template_parsing import parse_definition
from customshop.domain.templates import KNOWN_FONTS, TemplateDefinition
from customshop.domain.validation import AssetInfo, Design, parse_design

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SIZES = OptionSet("sizes", "p", "Size", (Option("S", "Small"), Option("L", "Large")), NOW, NOW)
OPTION_SETS = {"sizes": SIZES}

RGB = tuple[int, int, int]
WHITE: RGB = (255, 255, 255)
RED: RGB = (255, 0, 0)
GREEN: RGB = (0, 255, 0)
NAVY: RGB = (17, 34, 51)

# A 400 × 400 canvas, rendered at 200 × 200 (scale 1/2) unless a test says otherwise. In output pixels:
# patch (5, 5)-(25, 25), photo (100, 0)-(200, 100), caption (0, 150)-(200, 200).
TEMPLATE: dict[str, Any] = {
    "canvas": {"width": 400, "height": 400, "background": "#ffffff"},
    "zones": [
        {
            "id": "patch",
            "type": "color",
            "palette": ["#00ff00", "#0000ff"],
            "area": {"x": 10, "y": 10, "width": 40, "height": 40},
        },
        {"id": "body", "type": "color", "palette": ["#ffffff", "#112233"]},
        {"id": "photo", "type": "image", "area": {"x": 200, "y": 0, "width": 200, "height": 200}},
        {
            "id": "caption",
            "type": "text",
            "fonts": list(KNOWN_FONTS),
            "palette": ["#000000", "#ff0000"],
            "area": {"x": 0, "y": 300, "width": 400, "height": 100},
        },
        {"id": "size", "type": "option", "option_set_id": "sizes"},
    ],
}
PATCH = (5, 5, 25, 25)
PHOTO = (100, 0, 200, 100)
CAPTION = (0, 150, 200, 200)


@pytest.fixture(scope="module")
def definition() -> TemplateDefinition:
    return parse_definition(TEMPLATE, product_id="p", option_sets=OPTION_SETS)


@pytest.fixture(scope="module")
def red_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 800), RED).save(out, "PNG")
    return out.getvalue()


def design_of(
    definition: TemplateDefinition, options: Mapping[str, object], photo: bytes | None = None
) -> Design:
    assets = {}
    if photo is not None:
        with Image.open(io.BytesIO(photo)) as image:
            assets["a1"] = AssetInfo("a1", "image/png", image.width, image.height, len(photo))
    return parse_design(definition, OPTION_SETS, options, assets=assets)


def render(
    definition: TemplateDefinition,
    design: Design,
    images: Mapping[str, bytes] | None = None,
    longest_side: int = 200,
) -> bytes:
    request = RenderRequest(definition, design, images or {}, {"size": ("Large",)}, longest_side)
    return PillowRenderer().render(request)


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def pixels(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> list[RGB]:
    return list((image.crop(box) if box else image).get_flattened_data())  # type: ignore[arg-type]


def outside(image: Image.Image, box: tuple[int, int, int, int]) -> list[RGB]:
    left, top, right, bottom = box
    return [
        image.getpixel((x, y))  # type: ignore[misc]
        for y in range(image.height)
        for x in range(image.width)
        if not (left <= x < right and top <= y < bottom)
    ]


def test_an_empty_design_renders_just_the_background(definition: TemplateDefinition) -> None:
    image = decode(render(definition, design_of(definition, {})))

    assert image.size == (200, 200)
    assert set(pixels(image)) == {WHITE}


@pytest.mark.parametrize(
    ("canvas", "longest_side", "size"),
    [
        ((400, 400), 200, (200, 200)),
        ((300, 100), 1000, (1000, 333)),
        ((100, 300), 50, (17, 50)),
        ((1, 1000), 10, (1, 10)),
    ],
)
def test_the_canvas_is_scaled_to_the_longest_side(
    canvas: tuple[int, int], longest_side: int, size: tuple[int, int]
) -> None:
    raw = {"canvas": {"width": canvas[0], "height": canvas[1], "background": "#112233"}, "zones": []}
    definition = parse_definition(raw, product_id="p", option_sets={})

    image = decode(render(definition, Design({}), longest_side=longest_side))

    assert image.size == size
    assert image.getpixel((0, 0)) == NAVY


def test_a_colour_zone_without_an_area_colours_the_whole_canvas(definition: TemplateDefinition) -> None:
    image = decode(render(definition, design_of(definition, {"body": "#112233"})))

    assert set(pixels(image)) == {NAVY}


def test_a_colour_zone_with_an_area_fills_just_its_area_over_the_body_colour(
    definition: TemplateDefinition,
) -> None:
    # The body colour comes after the patch in template order, yet is drawn first.
    image = decode(render(definition, design_of(definition, {"patch": "#00ff00", "body": "#112233"})))

    assert set(pixels(image, PATCH)) == {GREEN}
    assert set(outside(image, PATCH)) == {NAVY}


def test_a_colour_zones_default_applies_when_nothing_is_chosen() -> None:
    raw = {
        "canvas": {"width": 10, "height": 10},
        "zones": [{"id": "body", "type": "color", "palette": ["#112233", "#ffffff"], "default": "#112233"}],
    }
    definition = parse_definition(raw, product_id="p", option_sets={})

    image = decode(render(definition, Design({}), longest_side=10))

    assert set(pixels(image)) == {NAVY}


def test_a_photo_covers_its_area_and_nothing_else(definition: TemplateDefinition, red_photo: bytes) -> None:
    design = design_of(definition, {"photo": {"asset_id": "a1"}}, red_photo)

    image = decode(render(definition, design, {"a1": red_photo}))

    assert image.getpixel((150, 50)) == RED
    assert set(pixels(image, PHOTO)) == {RED}
    assert RED not in set(outside(image, PHOTO))


def test_a_photo_of_other_proportions_is_cut_centred(definition: TemplateDefinition) -> None:
    # 300 wide, 100 high, in thirds: blue, red, green. Covering a square keeps the middle third.
    photo = Image.new("RGB", (300, 100), (0, 0, 255))
    photo.paste(RED, (100, 0, 200, 100))
    photo.paste(GREEN, (200, 0, 300, 100))
    out = io.BytesIO()
    photo.save(out, "PNG")
    design = design_of(definition, {"photo": {"asset_id": "a1"}}, out.getvalue())

    image = decode(render(definition, design, {"a1": out.getvalue()}))

    inner = (PHOTO[0] + 2, PHOTO[1], PHOTO[2] - 2, PHOTO[3])  # Lanczos blends the cut edges a little
    assert set(pixels(image, inner)) == {RED}


def test_a_photos_transparency_shows_the_canvas_through(definition: TemplateDefinition) -> None:
    photo = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    photo.paste((255, 0, 0, 255), (0, 0, 100, 200))  # the left half opaque red, the right half clear
    out = io.BytesIO()
    photo.save(out, "PNG")
    design = design_of(definition, {"photo": {"asset_id": "a1"}, "body": "#112233"}, out.getvalue())

    image = decode(render(definition, design, {"a1": out.getvalue()}))

    assert image.getpixel((120, 50)) == RED
    assert image.getpixel((180, 50)) == NAVY


def test_a_jpeg_photo_much_larger_than_its_area_is_drawn(definition: TemplateDefinition) -> None:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1600), RED).save(out, "JPEG", quality=95)
    design = design_of(definition, {"photo": {"asset_id": "a1"}}, out.getvalue())

    image = decode(render(definition, design, {"a1": out.getvalue()}))

    red, green, blue = image.getpixel((150, 50))  # type: ignore[misc]
    assert red > 240
    assert max(green, blue) < 15


def palette_image() -> Image.Image:
    image = Image.new("P", (50, 50), 0)
    image.putpalette([255, 0, 0])
    return image


@pytest.mark.parametrize(
    ("photo", "fmt", "expected"),
    [
        (Image.new("L", (50, 50), 128), "PNG", (128, 128, 128)),
        (Image.new("LA", (50, 50), (128, 255)), "PNG", (128, 128, 128)),
        (palette_image(), "PNG", RED),
        (Image.new("RGBA", (50, 50), (255, 0, 0, 255)), "WEBP", RED),
        (Image.new("CMYK", (50, 50), (0, 0, 0, 0)), "JPEG", WHITE),
    ],
    ids=["grey", "grey-alpha", "palette", "webp", "cmyk-jpeg"],
)
def test_pictures_of_any_mode_are_drawn(
    definition: TemplateDefinition, photo: Image.Image, fmt: str, expected: RGB
) -> None:
    out = io.BytesIO()
    photo.save(out, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    design = design_of(definition, {"photo": {"asset_id": "a1"}, "body": "#112233"}, out.getvalue())

    image = decode(render(definition, design, {"a1": out.getvalue()}))

    assert all(abs(got - want) <= 2 for got, want in zip(image.getpixel((150, 50)), expected, strict=True))  # type: ignore[arg-type]


def test_the_bytes_of_a_named_picture_are_required(definition: TemplateDefinition, red_photo: bytes) -> None:
    design = design_of(definition, {"photo": {"asset_id": "a1"}}, red_photo)

    with pytest.raises(ValueError, match="a1"):
        render(definition, design, {})
    with pytest.raises(ValueError, match="cannot be decoded"):
        render(definition, design, {"a1": b"not an image"})


def dark(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> int:
    return sum(1 for r, g, b in pixels(image, box) if r < 128 and g < 128 and b < 128)


def text_design(definition: TemplateDefinition, text: str, font: str, color: str = "#000000") -> Design:
    return design_of(definition, {"caption": {"text": text, "font": font, "color": color}})


def test_text_is_drawn_inside_its_area_only(definition: TemplateDefinition) -> None:
    image = decode(render(definition, text_design(definition, "Hello Anna", "Sans")))

    assert dark(image, CAPTION) > 200
    assert set(outside(image, CAPTION)) == {WHITE}


def test_text_takes_its_chosen_colour(definition: TemplateDefinition) -> None:
    image = decode(render(definition, text_design(definition, "Hello", "Sans", "#ff0000")))

    assert RED in set(pixels(image, CAPTION))
    assert dark(image) == 0


def test_text_grows_to_fill_the_area_and_is_centred(definition: TemplateDefinition) -> None:
    image = decode(render(definition, text_design(definition, "HH", "Sans"), longest_side=400))
    caption = (0, 300, 400, 400)

    mask = Image.eval(image.crop(caption).convert("L"), lambda v: 255 if v < 128 else 0)
    left, top, right, bottom = mask.getbbox() or (0, 0, 0, 0)
    # Height-bound: a line of DejaVu Sans is about 1.16 em, so capitals are a good half of the area high.
    assert bottom - top > 60
    assert abs((left + right) / 2 - 200) <= 2


def test_long_text_shrinks_to_the_areas_width(definition: TemplateDefinition) -> None:
    image = decode(render(definition, text_design(definition, "W" * 20, "Sans"), longest_side=400))
    caption = (0, 300, 400, 400)

    mask = Image.eval(image.crop(caption).convert("L"), lambda v: 255 if v < 200 else 0)
    left, top, right, bottom = mask.getbbox() or (0, 0, 0, 0)
    assert right - left > 380  # width-bound: it spans the area...
    assert bottom - top < 40  # ...at a size far below what the height allows
    assert set(outside(image, caption)) == {WHITE}


def test_each_known_font_has_a_shipped_file_and_draws_differently(definition: TemplateDefinition) -> None:
    renders = {}
    for font in KNOWN_FONTS:
        assert font_path(font).is_file()
        image = decode(render(definition, text_design(definition, "Quick fox", font)))
        assert dark(image, CAPTION) > 100
        renders[font] = image.tobytes()

    assert len(set(renders.values())) == len(KNOWN_FONTS)


def test_rendering_is_deterministic(definition: TemplateDefinition, red_photo: bytes) -> None:
    options = {
        "patch": "#0000ff",
        "body": "#112233",
        "photo": {"asset_id": "a1"},
        "caption": {"text": "Happy birthday", "font": "Serif", "color": "#ff0000"},
        "size": "L",
    }
    design = design_of(definition, options, red_photo)

    first = render(definition, design, {"a1": red_photo})
    second = PillowRenderer().render(RenderRequest(definition, design, {"a1": red_photo}, {}, 200))

    assert first == second


def test_option_zones_draw_nothing(definition: TemplateDefinition) -> None:
    image = decode(render(definition, design_of(definition, {"size": "L"})))

    assert set(pixels(image)) == {WHITE}


def test_a_longest_side_below_one_is_refused(definition: TemplateDefinition) -> None:
    with pytest.raises(ValueError, match="longest_side"):
        render(definition, Design({}), longest_side=0)


def test_a_print_file_carries_its_resolution(definition: TemplateDefinition) -> None:
    design = design_of(definition, {})
    request = RenderRequest(definition, design, {}, {}, 300, dpi=300)

    with Image.open(io.BytesIO(PillowRenderer().render(request))) as image:
        dpi = image.info["dpi"]
        assert (round(dpi[0]), round(dpi[1])) == (300, 300)
    with Image.open(io.BytesIO(render(definition, design))) as preview:
        assert "dpi" not in preview.info  # previews are for screens
