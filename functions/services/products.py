"""Products: the price catalogue (``product.*``)."""

from __future__ import annotations

from typing import Any

from functions.domain.models import Product
from storage_adapter import Filter, Sort

from .clients import _set_archived
from .common import load
from .records import Fields, ListParams, create_record, list_page, present, update_record
from .registry import Context, Params, action

PRODUCT_FIELDS = frozenset(Product.model_fields) - {"account_id"}
PRODUCT_READ_ONLY = ("archived",)


class ProductCreate(Fields):
    pass


class ProductUpdate(Fields):
    product_id: str
    version: int | None = None


class ProductRef(Params):
    product_id: str


class ProductArchive(Params):
    product_id: str
    version: int | None = None


class ProductList(ListParams):
    q: str | None = None
    include_archived: bool = False


@action("product.create", ProductCreate)
def create_product(ctx: Context, p: ProductCreate) -> dict[str, Any]:
    return create_record(ctx, "products", "prd", Product, p.changes(), read_only=PRODUCT_READ_ONLY)


@action("product.update", ProductUpdate)
def update_product(ctx: Context, p: ProductUpdate) -> dict[str, Any]:
    return update_record(
        ctx, "products", p.product_id, p.version, Product, p.changes(), read_only=PRODUCT_READ_ONLY
    )


@action("product.get", ProductRef, mutating=False)
def get_product(ctx: Context, p: ProductRef) -> dict[str, Any]:
    return present(load(ctx, "products", p.product_id))


@action("product.list", ProductList, mutating=False)
def list_products(ctx: Context, p: ProductList) -> dict[str, Any]:
    filters: list[Filter] = []
    if p.q:
        filters.append(Filter("name", "contains", p.q, also=("description",)))
    if not p.include_archived:
        filters.append(Filter("archived", "ne", True))
    return list_page(
        ctx, "products", p, allowed_fields=PRODUCT_FIELDS, filters=filters, sort=Sort("name", False)
    )


@action("product.archive", ProductArchive)
def archive_product(ctx: Context, p: ProductArchive) -> dict[str, Any]:
    return _set_archived(ctx, "products", p.product_id, p.version)
