"""A reference: FastAPI + pydantic serving 50 products held in memory, shaped like ``GET /products``."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import BaseModel


class Media(BaseModel):
    url: str
    alt: str


class ProductOut(BaseModel):
    id: str
    slug: str
    name: str
    description: str
    base_price: int
    currency: str
    media: list[Media]
    active: bool
    created_at: datetime
    updated_at: datetime


class ProductList(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None


NOW = datetime(2026, 11, 21, tzinfo=UTC)
PRODUCTS = [
    ProductOut(
        id=f"01a1f000-0000-7000-8000-{n:012d}",
        slug=f"product-{n}",
        name=f"Product {n}",
        description="A customizable product for the benchmark, with a description of ordinary length.",
        base_price=1000 + n,
        currency="USD",
        media=[],
        active=True,
        created_at=NOW,
        updated_at=NOW,
    )
    for n in range(50)
]

app = FastAPI()


@app.get("/products", response_model=ProductList)
async def products() -> ProductList:
    return ProductList(items=PRODUCTS, next_cursor=None)
