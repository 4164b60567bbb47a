"""The entities the simulator serves, with their fields as Autotask's swagger lists them.

Rows always carry every field (null when empty) plus ``userDefinedFields``, as Autotask's answers
do. The picklist values are the simulator's own (real ones differ per tenant and are read from
``/{Entity}/entityInformation/fields``, which the simulator also serves).

Some fields the API fills in by itself (``stamp``): a creation date, set once, and a last
modified date, set on every create and update (a real untouched company has
``createDate == lastTrackedModifiedDateTime``, apigrate/autotask-restapi's README). Clients
watermark on the latter, so it must move on every write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Stamp = Literal["created", "modified"]

PERIOD_TYPES = {1: "Monthly", 2: "Quarterly", 3: "Semi-Annual", 4: "Yearly"}
PERIOD_MONTHS = {1: 1, 2: 3, 3: 6, 4: 12}
RECURRING_SERVICE = 7


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"  # integer | long | decimal | boolean | string | datetime
    required: bool = False
    read_only: bool = False
    picklist: dict[int, str] | None = None
    stamp: Stamp | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dataType": self.type,
            "length": 0 if self.type != "string" else 100,
            "isRequired": self.required,
            "isReadOnly": self.read_only,
            "isQueryable": True,
            "isReference": self.name.endswith("ID") and self.name != "id",
            "referenceEntityType": "",
            "isPickList": self.picklist is not None,
            "picklistValues": [
                {"value": str(v), "label": label, "isDefaultValue": False, "sortOrder": i,
                 "parentValue": "", "isActive": True, "isSystem": True}
                for i, (v, label) in enumerate((self.picklist or {}).items())
            ] or None,
            "picklistParentValueField": "",
            "isSupportedWebhookField": False,
        }


@dataclass(frozen=True)
class Entity:
    name: str
    fields: tuple[Field, ...]
    can_create: bool = True
    can_update: bool = True
    can_query: bool = True
    updatable: tuple[str, ...] | None = None
    """The fields a PATCH or PUT may change (None: every field that is not read-only)."""
    by_lower: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_lower", {f.name.lower(): f for f in self.fields})

    def lookup(self, name: str) -> Field | None:
        return self.by_lower.get(name.lower())

    def writable(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` without the read-only fields (``id``, the stamps), which a client cannot
        set: Autotask fills them in itself. Unknown names stay, to be refused."""
        return {k: v for k, v in values.items()
                if (found := self.lookup(str(k))) is None or not found.read_only}

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "canCreate": self.can_create, "canDelete": False,
                "canQuery": self.can_query, "canUpdate": self.can_update,
                "hasUserDefinedFields": self.name in ("Companies", "Contracts"),
                "supportsWebhookCallouts": False, "userAccessForCreate": "All",
                "userAccessForDelete": "None", "userAccessForQuery": "All",
                "userAccessForUpdate": "All"}


def _f(spec: str, **kwargs: Any) -> Field:
    name, _, kind = spec.partition(":")
    return Field(name, kind or "string", **kwargs)


def _stamp(spec: str, stamp: Stamp) -> Field:
    return _f(spec, read_only=True, stamp=stamp)


ID = Field("id", "long", required=True, read_only=True)

ENTITIES: dict[str, Entity] = {e.name.lower(): e for e in (
    Entity("Companies", (
        ID, _f("companyName", required=True),
        _f("companyType:integer", required=True,
           picklist={1: "Customer", 3: "Prospect", 7: "Vendor"}),
        _f("companyNumber"), _f("isActive:boolean"), _f("parentCompanyID:integer"),
        _f("ownerResourceID:integer"), _f("phone"), _f("address1"), _f("city"), _f("state"),
        _f("postalCode"), _f("countryID:integer"), _f("currencyID:integer"),
        _stamp("createDate:datetime", "created"), _f("lastActivityDate:datetime"),
        _stamp("lastTrackedModifiedDateTime:datetime", "modified"))),
    Entity("Contracts", (
        ID, _f("companyID:integer", required=True), _f("contractName", required=True),
        _f("contractType:integer", required=True,
           picklist={1: "Time & Materials", 3: "Fixed Price", 4: "Block Hours", 6: "Retainer",
                     7: "Recurring Service", 8: "Per Ticket"}),
        _f("status:integer", required=True, picklist={0: "Inactive", 1: "Active"}),
        _f("startDate:datetime", required=True), _f("endDate:datetime", required=True),
        _f("contractPeriodType:integer", picklist=PERIOD_TYPES),
        _f("contractCategory:integer"), _f("contractNumber"), _f("billingPreference:integer"),
        _f("contactID:integer"), _f("description"), _f("isDefaultContract:boolean"),
        _f("isCompliant:boolean"), _f("purchaseOrderNumber"),
        _f("serviceLevelAgreementID:integer"), _f("setupFee:decimal"),
        _f("estimatedRevenue:decimal"), _f("renewedContractID:integer"),
        _stamp("lastModifiedDateTime:datetime", "modified"))),
    Entity("Services", (
        ID, _f("name", required=True), _f("description"), _f("invoiceDescription"),
        _f("unitPrice:decimal", required=True), _f("unitCost:decimal"),
        _f("markupRate:decimal"),
        _f("periodType:integer", required=True, picklist=PERIOD_TYPES),
        _f("billingCodeID:integer", required=True), _f("isActive:boolean"),
        _f("vendorCompanyID:integer"), _f("serviceLevelAgreementID:integer"),
        _stamp("createDate:datetime", "created"), _stamp("lastModifiedDate:datetime", "modified"),
        _f("creatorResourceID:integer"), _f("updateResourceID:integer"), _f("sku"),
        _f("catalogNumberPartNumber"), _f("manufacturerServiceProvider"),
        _f("manufacturerServiceProviderProductNumber"), _f("internalID"), _f("externalID"),
        _f("url"))),
    Entity("ContractServices", (
        ID, _f("contractID:integer", required=True), _f("serviceID:integer", required=True),
        _f("unitPrice:decimal"), _f("unitCost:decimal"),
        _f("internalCurrencyUnitPrice:decimal"), _f("internalCurrencyAdjustedPrice:decimal"),
        _f("invoiceDescription"), _f("internalDescription"), _f("quoteItemID:integer")),
        # "On Update(), all fields are Read-Only except for adjustedPrice and invoiceDescription"
        # (Autotask's entity page); the swagger has no adjustedPrice, so which price field an
        # update may change is UNCONFIRMED: none, here.
        updatable=("invoiceDescription",)),
    Entity("ContractServiceUnits", (
        ID, _f("contractID:integer"), _f("contractServiceID:integer"),
        _f("serviceID:integer"), _f("startDate:datetime"), _f("endDate:datetime"),
        _f("units:integer"), _f("price:decimal"), _f("cost:decimal"),
        _f("internalCurrencyPrice:decimal"), _f("approveAndPostDate:datetime"),
        _f("vendorCompanyID:integer"), _f("organizationalLevelAssociationID:integer")),
        can_create=False, can_update=False),
    Entity("ContractServiceAdjustments", (
        ID, _f("contractID:integer"), _f("contractServiceID:integer"),
        _f("serviceID:integer"), _f("unitChange:integer"),
        _f("effectiveDate:datetime", required=True), _f("adjustedUnitPrice:decimal"),
        _f("adjustedUnitCost:decimal"), _f("quoteItemID:integer"),
        _f("allowRepeatService:boolean")),
        can_update=False, can_query=False),
)}
"""By lower-cased name: Autotask's routes and field names are case-insensitive."""

PLAIN_WRITES = ("companies", "contracts", "services")
"""Entities created and updated on their root URL with no side effects in the simulator."""
