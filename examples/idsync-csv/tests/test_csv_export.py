"""Reading CSV exports: the documented format, exact decimals, and bad rows reported and skipped."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from idsync_core.errors import ConfigurationError, NotFoundError
from idsync_core.models import SubscriptionStatus
from idsync_core.plugins import ProviderConnection, discover_plugins, open_connection

EXAMPLE = Path(__file__).parents[1] / "example" / "seats.csv"
HEADER = "account_id,account_name,subscription_id,sku,quantity,unit_price"


@pytest.fixture(autouse=True)
def only_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "csv")


def connect(path: Path, **settings: Any) -> ProviderConnection:
    connection = open_connection("providers.vendor", {"plugin": "csv", "path": str(path),
                                                      **settings}, "provider", discover_plugins())
    assert isinstance(connection, ProviderConnection)
    return connection


def export(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "seats.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_the_example_export_reads_as_documented() -> None:
    csv = connect(EXAMPLE)
    assert [a.name for a in csv.list_accounts()] == [
        "Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Adventure Works", "Tailspin Toys"]
    assert [(s.id, s.status) for s in csv.list_subscriptions("A-300")] == [
        ("S-3001", SubscriptionStatus.ACTIVE), ("S-3002", SubscriptionStatus.TERMINATED)]
    exchange, premium = csv.list_resources("S-1001")
    assert (exchange.id, exchange.sku, exchange.name, exchange.quantity, exchange.unit_price,
            exchange.unit_cost) == ("S-1001:CFQ7TTC0LH16", "CFQ7TTC0LH16",
                                    "Exchange Online (Plan 1)", Decimal(8), Decimal("4.80"),
                                    Decimal("4.00"))
    assert premium.quantity == 12
    [azure] = csv.list_resources("S-1002")
    assert (azure.seat_based, azure.quantity, azure.unit_price) == (False, None, None)
    assert csv.check() == (f"CSV export {EXAMPLE}: 1 file(s), 5 accounts, 7 subscriptions, "
                           "8 resources")


def test_defaults_headers_and_decimals(tmp_path: Path) -> None:
    path = export(tmp_path, "A-1,Contoso,S-1,SKU-1,2.5,0.1",
                  header="Account ID , ACCOUNT-NAME,Subscription Id,sku,Quantity,Unit Price,notes")
    csv = connect(path)
    [subscription] = csv.list_subscriptions("A-1")
    assert (subscription.name, subscription.status) == ("S-1", SubscriptionStatus.ACTIVE)
    [resource] = csv.list_resources("S-1")
    assert (resource.id, resource.name) == ("S-1:SKU-1", "SKU-1")
    assert resource.quantity == Decimal("2.5") and type(resource.quantity) is Decimal
    assert resource.unit_price == Decimal("0.1") and str(resource.unit_price) == "0.1"


def test_bad_rows_are_reported_with_file_line_and_column_and_skipped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = export(tmp_path,
                  "A-1,Contoso,S-1,SKU-1,8,4.80",
                  "A-1,Contoso,S-1,SKU-2,ten,4.80",
                  "A-1,Contoso,S-1,SKU-3,3,\"4,80\"",
                  "A-2,,S-2,SKU-1,1,1",
                  "",
                  "A-3,Fabrikam,S-3,SKU-1,-2,1",
                  "A-3,Fabrikam,S-3,SKU-4,NaN,1",
                  "A-3,Fabrikam,S-3,SKU-5,1,1,extra")
    csv = connect(path)
    with caplog.at_level(logging.WARNING, logger="idsync_csv"):
        line = csv.check()
    assert [r.sku for r in csv.list_resources("S-1")] == ["SKU-1"]
    assert [a.id for a in csv.list_accounts()] == ["A-1"]
    reports = [r.getMessage() for r in caplog.records]
    assert reports == [
        f"{path} line 3, column quantity: 'ten' is not a number",
        f"{path} line 4, column unit_price: '4,80' is not a number: write decimals with a "
        "point and no thousands separator (4.80, 1200)",
        f"{path} line 5, column account_name: is empty",
        f"{path} line 7, column quantity: -2 is negative",
        f"{path} line 8, column quantity: 'NaN' is not a number",
        f"{path} line 9: the row has 7 cells, the header 6",
    ]
    assert line.endswith(f"; 6 bad row(s) skipped, the first: {reports[0]}")


def test_contradicting_rows_skip_everything_they_touch(tmp_path: Path) -> None:
    header = "account_id,account_name,subscription_id,subscription_status,sku,quantity"
    path = export(tmp_path,
                  "A-1,Contoso,S-1,active,SKU-1,8",
                  "A-1,Contoso,S-1,terminated,SKU-2,1",
                  "A-2,Fabrikam,S-2,,SKU-1,5",
                  "A-9,Litware,S-2,,SKU-2,5",
                  "A-3,Northwind,S-3,,SKU-1,4",
                  "A-3,Northwind,S-3,,SKU-1,6",
                  "A-3,Northwind Traders,S-4,,SKU-1,2",
                  "A-3,Northwind,S-4,terminated,SKU-2,0", header=header)
    csv = connect(path)
    assert [a.id for a in csv.list_accounts()] == ["A-3"]
    assert [a.name for a in csv.list_accounts()] == ["Northwind Traders"]
    [subscription] = csv.list_subscriptions("A-3")
    assert (subscription.id, subscription.status) == ("S-4", SubscriptionStatus.TERMINATED)
    problems = csv.check()
    assert "; 6 bad row(s) skipped" in problems
    assert "1 warning(s)" in problems
    assert (f"{path} line 2, column subscription_id: subscription 'S-1' is described "
            "differently: its rows give several statuses (active, terminated); all its 2 rows "
            "are skipped") in problems


def test_a_directory_reads_every_csv_file_in_name_order(tmp_path: Path) -> None:
    export(tmp_path, "A-2,Fabrikam,S-2,SKU-1,5,1", name="b.csv")
    export(tmp_path, "A-1,Contoso,S-1,SKU-1,8,1", name="a.CSV")
    (tmp_path / "notes.txt").write_text("not an export")
    csv = connect(tmp_path)
    assert [a.id for a in csv.list_accounts()] == ["A-1", "A-2"]
    assert csv.check().startswith(f"CSV export {tmp_path}: 2 file(s)")


def test_semicolons_and_excel_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("account_id;account_name;subscription_id;sku;quantity\r\n"
                     "A-1;Contoso;S-1;SKU-1;3\r\n".encode("utf-8-sig"))
    [resource] = connect(path, delimiter=";").list_resources("S-1")
    assert resource.quantity == 3


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    (b"account_id,account_name,subscription_id\n", "line 1: the header lacks the column(s) sku, "
                                                   "quantity (found: account_id, account_name, "
                                                   "subscription_id)"),
    (b"account_id;account_name;subscription_id;sku;quantity\n", "lacks the column(s) "
                                                                "account_id, account_name"),
    (b"account_id,account_name,subscription_id,sku,quantity,sku\n", "the column(s) sku appear "
                                                                     "more than once"),
    ("account_id,account_name,subscription_id,sku,quantity\nA,Caf\xe9,S,K,1\n".encode("latin-1"),
     "is not utf-8-sig text"),
])
def test_an_unusable_file_is_a_configuration_error_naming_it(
        tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "seats.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=re.escape(message)) as caught:
        connect(path).check()
    assert str(path) in str(caught.value)


def test_an_empty_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=f"no .csv file in the directory {tmp_path}"):
        list(connect(tmp_path).list_accounts())


def test_strict_mode_refuses_the_export(tmp_path: Path) -> None:
    path = export(tmp_path, "A-1,Contoso,S-1,SKU-1,8,1", "A-1,Contoso,S-1,SKU-2,x,1")
    with pytest.raises(ConfigurationError, match=r"1 problem\(s\) in the CSV export:\n  "
                       f".*{path.name} line 3, column quantity"):
        connect(path, strict=True).check()


def test_unknown_ids_and_search(tmp_path: Path) -> None:
    csv = connect(EXAMPLE)
    assert [a.id for a in csv.list_accounts("TRADERS")] == ["A-300"]
    with pytest.raises(NotFoundError, match="no account 'A-999' in the CSV export"):
        list(csv.list_subscriptions("A-999"))
    with pytest.raises(NotFoundError, match="no subscription 'S-999'"):
        list(csv.list_resources("S-999"))


def test_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"\[providers.vendor\] delimiter"):
        connect(EXAMPLE, delimiter=";;")
    with pytest.raises(ConfigurationError, match=r"\[providers.vendor\] pathh: unknown setting"):
        connect(EXAMPLE, pathh="x")
