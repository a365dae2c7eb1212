"""The app on the DynamoDB backend: ``billow serve`` on a table and bucket of a moto server
(over HTTP), where the invoice list's search box finds invoices by client name and by a part of
their number (DynamoDB's q search: the vocabulary of client groups and the numbers' suffix
rows). Screenshot: tests/artifacts/screenshots/71-dynamodb-invoice-search.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from playwright.sync_api import Page, expect

from tests.support.moto_server import (
    DUMMY_AWS_ENV,
    REGION,
    create_bucket,
    create_table,
    start_moto_server,
)

from .conftest import BillowServer, _billow_available, run_server
from .test_app_e2e import add_client, nav, new_email, set_up_entity, shot, sign_in

SEED = """async () => {
  const { call } = await import(new URL("js/api.js", location.href).href);
  const [entity] = (await call("entity.list")).items;
  const clients = (await call("client.list")).items;
  const numbers = {};
  for (const client of clients) {
    numbers[client.name] = [];
    for (let i = 0; i < 3; i++) {
      const lines = [{ description: `Survey ${i + 1}`, quantity: "1", unit_price: "180" }];
      const inv = await call("invoice.create", {
        entity_id: entity.id, client_id: client.id, lines,
      });
      numbers[client.name].push((await call("invoice.finalize", { invoice_id: inv.id })).number);
    }
  }
  await call("invoice.create", {
    entity_id: entity.id, client_id: clients[0].id,
    lines: [{ description: "Draft", quantity: "1", unit_price: "10" }],
  });
  return numbers;
}"""


@pytest.fixture(scope="module")
def dynamo_server(tmp_path_factory: pytest.TempPathFactory, vies_url: str) -> Iterator[tuple]:
    reason = _billow_available()
    if reason:
        pytest.skip(reason)
    moto, endpoint = start_moto_server()
    table, bucket = create_table(endpoint), create_bucket(endpoint)
    data_dir = tmp_path_factory.mktemp("billow-dynamo")  # the mail outbox only
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BILLOW_", "AWS_"))}
    env.update(DUMMY_AWS_ENV)
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    env["BILLOW_VIES_URL"] = vies_url
    env["BILLOW_DATA_DIR"] = str(data_dir)
    env["BILLOW_STORE_URL"] = (
        f"dynamodb://{table}?bucket={bucket}&region={REGION}"
        f"&endpoint_url={endpoint}&s3_endpoint_url={endpoint}"
    )
    try:
        for server in run_server(data_dir, env, []):
            yield server, endpoint, table
    finally:
        moto.stop()


def test_the_invoice_search_on_dynamodb(
    page: Page, dynamo_server: tuple, screenshots: Path
) -> None:
    server, endpoint, table = dynamo_server
    assert isinstance(server, BillowServer)
    sign_in(page, server, new_email("dynamo"))
    set_up_entity(page, name="Fjord Consulting GmbH")
    add_client(page, "Kestrel Logistics GmbH", "ap@kestrel.example")
    add_client(page, "Osprey Media GmbH", "ap@osprey.example")
    numbers = page.evaluate(SEED)

    nav(page, "Invoices")
    rows = page.locator(".invoices-table tbody tr")
    expect(rows).to_have_count(7)
    search = page.get_by_label("Search invoices")
    search.fill("osprey")
    expect(rows).to_have_count(3)
    for row in range(3):
        expect(rows.nth(row)).to_contain_text("Osprey Media GmbH")
    search.fill("KESTREL")
    expect(rows).to_have_count(4)  # three finalized, one draft
    number = numbers["Kestrel Logistics GmbH"][1]
    search.fill(number[-6:])  # a part of one number
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(number)
    expect(rows.first).to_contain_text("Kestrel Logistics GmbH")
    search.fill("ap@osprey")
    expect(rows).to_have_count(3)
    shot(page, screenshots, "71-dynamodb-invoice-search", full_page=False)

    # the answers came from the table: its q search rows exist (vocabulary, number suffixes)
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    pks = {
        item["PK"]["S"].rsplit("#", 1)[-1]
        for page_ in client.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression="PK"
        )
        for item in page_["Items"]
        if item["PK"]["S"].startswith("A#invoices#")
    }
    assert {"_qv", "_qs"} <= pks
