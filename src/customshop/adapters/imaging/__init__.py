"""Pillow adapters: the ``ImageProcessor`` that checks and cleans uploads, and the ``Renderer`` that draws
designs. Both are CPU-bound; call them from a worker thread."""

from customshop.adapters.imaging.render import PillowRenderer
from customshop.adapters.imaging.sanitize import PillowImageProcessor

__all__ = ["PillowImageProcessor", "PillowRenderer"]
