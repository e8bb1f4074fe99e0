"""customshop: a backend for shops that sell customized products."""

__version__ = "0.1.0"
