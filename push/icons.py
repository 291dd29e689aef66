"""Draws the installable inbox's icons (the favicon's check mark on its blue square) into
push/static/push/: `python -m push.icons`. The PNGs are committed; Pillow is needed only here."""

from pathlib import Path

from PIL import Image, ImageDraw

BLUE, WHITE = (31, 95, 191, 255), (255, 255, 255, 255)
HERE = Path(__file__).resolve().parent / "static" / "push"


def icon(size, *, maskable=False):
    """The favicon at `size` pixels. A maskable icon fills its square (the phone cuts its own
    shape) and keeps the mark inside the central safe zone, 80% of it."""
    scale = 4  # drawn larger, then reduced: smooth edges
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle([0, 0, big, big], fill=BLUE)
    else:
        draw.rounded_rectangle([0, 0, big - 1, big - 1], radius=big * 6 // 32, fill=BLUE)
    shrink = 0.7 if maskable else 1.0
    points = [(8, 17), (13, 22), (24, 10)]  # the favicon's path, on its 32-unit grid

    def at(x, y):
        return (big / 2 + (x - 16) * big / 32 * shrink, big / 2 + (y - 16) * big / 32 * shrink)

    width = round(4 * big / 32 * shrink)
    draw.line([at(x, y) for x, y in points], fill=WHITE, width=width, joint="curve")
    for x, y in (points[0], points[-1]):  # round caps
        cx, cy = at(x, y)
        draw.ellipse([cx - width / 2, cy - width / 2, cx + width / 2, cy + width / 2], fill=WHITE)
    return image.resize((size, size), Image.LANCZOS)


if __name__ == "__main__":
    HERE.mkdir(parents=True, exist_ok=True)
    icon(192).save(HERE / "icon-192.png", optimize=True)
    icon(512).save(HERE / "icon-512.png", optimize=True)
    icon(512, maskable=True).save(HERE / "icon-maskable-512.png", optimize=True)
