"""A seeded fake world for the core tests: PSA and provider state files plus a config."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

TODAY = "2026-11-25"

PSA_WORLD: dict[str, Any] = {
    "companies": [
        {"id": "250", "name": "Contoso Ltd", "identifier": "Contoso"},
        {"id": "251", "name": "Fabrikam Inc", "identifier": "Fabrikam"},
        {"id": "252", "name": "Litware Inc", "identifier": "Litware"},
    ],
    "agreements": [
        {"id": "871", "company_id": "250", "name": "Contoso - Microsoft 365",
         "status": "active", "start_date": "2026-01-01", "billing_cycle": "monthly"},
        {"id": "870", "company_id": "250", "name": "Contoso - 2024 licences",
         "status": "expired", "start_date": "2024-01-01", "end_date": "2024-12-31",
         "billing_cycle": "yearly"},
        {"id": "880", "company_id": "251", "name": "Fabrikam - Cloud",
         "status": "active", "start_date": "2025-03-15", "billing_cycle": "quarterly"},
    ],
    "catalog": [
        {"id": "812", "identifier": "CFQ7TTC0LH16", "name": "Exchange Online (Plan 1)",
         "price": "4.80", "cost": "4.00"},
        {"id": "813", "identifier": "CFQ7TTC0LCHC", "name": "Microsoft 365 Business Premium",
         "price": "26.40", "cost": "22.00"},
        {"id": "814", "identifier": "OLD-SKU", "name": "Retired product", "price": "1.00",
         "cost": "1.00", "active": False},
    ],
    "postings": [],
}

PROVIDER_WORLD: dict[str, Any] = {
    "accounts": [
        {"id": "A-100", "name": "Contoso Ltd"},
        {"id": "A-200", "name": "Fabrikam Inc"},
    ],
    "subscriptions": [
        {"id": "S-1", "account_id": "A-100", "name": "Microsoft 365", "status": "active"},
        {"id": "S-2", "account_id": "A-200", "name": "Microsoft 365", "status": "active"},
    ],
    "resources": [
        {"id": "S-1:CFQ7TTC0LH16", "subscription_id": "S-1", "name": "Exchange Online (Plan 1)",
         "sku": "CFQ7TTC0LH16", "quantity": "8", "unit_price": "4.50", "unit_cost": "3.90"},
        {"id": "S-1:CFQ7TTC0LCHC", "subscription_id": "S-1",
         "name": "Microsoft 365 Business Premium", "sku": "CFQ7TTC0LCHC", "quantity": "3",
         "unit_price": "25.00", "unit_cost": "21.00"},
        {"id": "S-1:AZURE", "subscription_id": "S-1", "name": "Azure plan",
         "sku": "DZH318Z0BQ3Q", "quantity": None, "seat_based": False},
        {"id": "S-2:CFQ7TTC0LH16", "subscription_id": "S-2", "name": "Exchange Online (Plan 1)",
         "sku": "CFQ7TTC0LH16", "quantity": "5", "unit_price": "4.50", "unit_cost": "3.90"},
    ],
}


@dataclass
class World:
    """A seeded fake PSA and provider, an idsync.toml pointing at them, and a store."""

    root: Path
    psa_file: Path
    provider_file: Path
    config: Path
    db_url: str

    def psa(self) -> dict[str, Any]:
        return json.loads(self.psa_file.read_text())

    def provider(self) -> dict[str, Any]:
        return json.loads(self.provider_file.read_text())

    def edit_psa(self, **changes: Any) -> None:
        data = self.psa()
        data.update(changes)
        self.psa_file.write_text(json.dumps(data))

    def set_provider_quantity(self, resource_id: str, quantity: str) -> None:
        data = self.provider()
        for row in data["resources"]:
            if row["id"] == resource_id:
                row["quantity"] = quantity
        self.provider_file.write_text(json.dumps(data))

    def set_subscription_status(self, subscription_id: str, status: str) -> None:
        self.edit_subscription(subscription_id, status=status)

    def edit_subscription(self, subscription_id: str, **fields: Any) -> None:
        data = self.provider()
        for row in data["subscriptions"]:
            if row["id"] == subscription_id:
                row.update(fields)
        self.provider_file.write_text(json.dumps(data))

    def quantity(self, agreement_id: str, catalog_item_id: str, as_of: str = TODAY) -> str:
        return str(sum((Decimal(p["delta"]) for p in self.psa()["postings"]
                        if p["agreement_id"] == agreement_id
                        and p["catalog_item_id"] == catalog_item_id
                        and p["effective_date"] <= as_of and not p.get("voided")), Decimal(0)))

    def env(self) -> dict[str, str]:
        return {"IDSYNC_CONFIG": str(self.config), "IDSYNC_TODAY": TODAY,
                "IDSYNC_LOAD_PLUGINS": "fake-psa,fake-provider",
                "IDSYNC_STORE__URL": self.db_url}

    @classmethod
    def create(cls, root: Path) -> World:
        psa_file = root / "psa.json"
        provider_file = root / "provider.json"
        psa_file.write_text(json.dumps(PSA_WORLD))
        provider_file.write_text(json.dumps(PROVIDER_WORLD))
        config = root / "idsync.toml"
        config.write_text(
            f'[psa]\nplugin = "fake-psa"\nstate_file = "{psa_file}"\n\n'
            f'[providers.ingram]\nplugin = "fake-provider"\nstate_file = "{provider_file}"\n')
        return cls(root, psa_file, provider_file, config, f"sqlite:///{root / 'idsync.db'}")
