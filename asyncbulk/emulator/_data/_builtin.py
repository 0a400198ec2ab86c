"""The built-in objects (Account, Contact, Lead, User, Organization) and the records every org starts with.

Field names, types and lengths follow Salesforce's standard object reference. Specs are written in
the schema file's format (see :class:`~._schema.Schema`), so built-in and custom objects are read
by the same code.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ADMIN_USERNAME",
    "BUILTIN",
    "CURRENT_USER",
    "ORGANIZATION",
    "ORG_ID",
    "OWNER_FIELD",
    "SEED_USERS",
    "SYSTEM_FIELDS",
    "field_spec",
    "read_only_spec",
]

#: Username of the emulator's own admin user (the jobs' ``createdById``); the same default as
#: ``OAuthConfig.username``.
ADMIN_USERNAME = "admin@emulator.example"

#: The org's id when none is given (the same as ``OAuthConfig.org_id``'s default: the token's org).
ORG_ID = "00DEM00000000012AA"

#: Marker default of OwnerId: "the running user" (the admin user).
CURRENT_USER = "$User.Id"


def field_spec(name: str, ftype: str, label: str | None = None, **kw: Any) -> dict[str, Any]:
    """A field spec in the schema file's format (``label`` defaults to the name)."""
    return {"name": name, "type": ftype, "label": label or name, **kw}


def read_only_spec(name: str, ftype: str, label: str | None = None, **kw: Any) -> dict[str, Any]:
    """A field spec that is neither createable nor updateable."""
    return field_spec(name, ftype, label, createable=False, updateable=False, **kw)


SYSTEM_FIELDS: list[dict[str, Any]] = [
    read_only_spec("Id", "id", "Record ID", length=18, nillable=False, idLookup=True),
    read_only_spec("IsDeleted", "boolean", "Deleted", nillable=False, default=False),
    read_only_spec("CreatedDate", "datetime", "Created Date", nillable=False),
    read_only_spec(
        "CreatedById", "reference", "Created By ID", referenceTo="User", relationshipName="CreatedBy"
    ),
    read_only_spec("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
    read_only_spec(
        "LastModifiedById",
        "reference",
        "Last Modified By ID",
        referenceTo="User",
        relationshipName="LastModifiedBy",
    ),
    read_only_spec("SystemModstamp", "datetime", "System Modstamp", nillable=False),
]
OWNER_FIELD = field_spec(
    "OwnerId",
    "reference",
    "Owner ID",
    referenceTo="User",
    relationshipName="Owner",
    nillable=False,
    default=CURRENT_USER,
)


def _address(prefix: str, label: str) -> list[dict[str, Any]]:
    # Real lengths: Street textarea 255, City 40, State 80, PostalCode 20, Country 80.
    return [
        field_spec(f"{prefix}Street", "textarea", f"{label} Street", length=255),
        field_spec(f"{prefix}City", "string", f"{label} City", length=40),
        field_spec(f"{prefix}State", "string", f"{label} State/Province", length=80),
        field_spec(f"{prefix}PostalCode", "string", f"{label} Zip/Postal Code", length=20),
        field_spec(f"{prefix}Country", "string", f"{label} Country", length=80),
        field_spec(f"{prefix}Latitude", "double", f"{label} Latitude", precision=18, scale=15),
        field_spec(f"{prefix}Longitude", "double", f"{label} Longitude", precision=18, scale=15),
    ]


def _external_id(label: str = "External Id") -> dict[str, Any]:
    return field_spec(
        "External_Id__c", "string", label, length=255, externalId=True, unique=True, custom=True
    )


# Field names, types and lengths follow Salesforce's standard object reference (Account,
# Contact, Lead, User). Email is idLookup on Contact and Lead (so "ReportsTo.Email" works, as in
# the Bulk guide's sample CSV); Username is unique and idLookup on User.
BUILTIN: list[dict[str, Any]] = [
    {
        "name": "Account",
        "label": "Account",
        "keyPrefix": "001",
        "fields": [
            field_spec("Name", "string", "Account Name", length=255, nillable=False, idLookup=False),
            field_spec("AccountNumber", "string", "Account Number", length=40),
            field_spec("Site", "string", "Account Site", length=80),
            field_spec(
                "Type",
                "picklist",
                "Account Type",
                picklistValues=["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"],
            ),
            field_spec(
                "Industry",
                "picklist",
                "Industry",
                picklistValues=["Agriculture", "Banking", "Technology", "Other"],
            ),
            field_spec("Phone", "phone", "Account Phone"),
            field_spec("Fax", "phone", "Account Fax"),
            field_spec("Website", "url", "Website"),
            field_spec("NumberOfEmployees", "int", "Employees", precision=8),
            field_spec("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
            *_address("Billing", "Billing"),
            *_address("Shipping", "Shipping"),
            field_spec("Description", "textarea", "Account Description", length=32000),
            field_spec(
                "ParentId", "reference", "Parent Account ID", referenceTo="Account", relationshipName="Parent"
            ),
            field_spec("Rating", "picklist", "Account Rating", picklistValues=["Hot", "Warm", "Cold"]),
            field_spec("AccountSource", "picklist", "Account Source"),
            OWNER_FIELD,
            _external_id(),
        ],
    },
    {
        "name": "Contact",
        "label": "Contact",
        "keyPrefix": "003",
        "compoundName": ["FirstName", "LastName"],
        "fields": [
            field_spec("FirstName", "string", "First Name", length=40),
            field_spec("LastName", "string", "Last Name", length=80, nillable=False),
            read_only_spec("Name", "string", "Full Name", length=121),
            field_spec(
                "Salutation",
                "picklist",
                "Salutation",
                length=40,
                picklistValues=["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."],
            ),
            field_spec("Email", "email", "Email", length=80, idLookup=True),
            field_spec("Phone", "phone", "Business Phone"),
            field_spec("MobilePhone", "phone", "Mobile Phone"),
            field_spec("HomePhone", "phone", "Home Phone"),
            field_spec("Fax", "phone", "Business Fax"),
            field_spec("Title", "string", "Title", length=128),
            field_spec("Department", "string", "Department", length=80),
            field_spec("Birthdate", "date", "Birthdate"),
            *_address("Mailing", "Mailing"),
            *_address("Other", "Other"),
            field_spec(
                "AccountId", "reference", "Account ID", referenceTo="Account", relationshipName="Account"
            ),
            field_spec(
                "ReportsToId",
                "reference",
                "Reports To ID",
                referenceTo="Contact",
                relationshipName="ReportsTo",
            ),
            field_spec("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, default=False),
            field_spec("DoNotCall", "boolean", "Do Not Call", nillable=False, default=False),
            field_spec(
                "LeadSource",
                "picklist",
                "Lead Source",
                length=40,
                picklistValues=["Web", "Phone Inquiry", "Other"],
            ),
            field_spec("Description", "textarea", "Contact Description", length=32000),
            OWNER_FIELD,
            _external_id(),
            field_spec("Last_Contacted__c", "datetime", "Last Contacted", custom=True),
        ],
    },
    {
        "name": "Lead",
        "label": "Lead",
        "keyPrefix": "00Q",
        "compoundName": ["FirstName", "LastName"],
        "fields": [
            field_spec("FirstName", "string", "First Name", length=40),
            field_spec("LastName", "string", "Last Name", length=80, nillable=False),
            read_only_spec("Name", "string", "Full Name", length=121),
            field_spec("Salutation", "picklist", "Salutation", length=40),
            field_spec("Title", "string", "Title", length=128),
            field_spec("Company", "string", "Company", length=255, nillable=False),
            field_spec("Email", "email", "Email", length=80, idLookup=True),
            field_spec("Phone", "phone", "Phone"),
            field_spec("MobilePhone", "phone", "Mobile Phone"),
            field_spec("Website", "url", "Website"),
            field_spec(
                "Status",
                "picklist",
                "Status",
                length=40,
                nillable=False,
                default="Open - Not Contacted",
                picklistValues=["Open - Not Contacted", "Working - Contacted", "Closed - Converted"],
            ),
            field_spec("LeadSource", "picklist", "Lead Source", length=40),
            field_spec("Rating", "picklist", "Rating", length=40, picklistValues=["Hot", "Warm", "Cold"]),
            field_spec("Industry", "picklist", "Industry", length=40),
            field_spec("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
            field_spec("NumberOfEmployees", "int", "Employees", precision=8),
            *_address("", "Address")[:5],
            field_spec("Description", "textarea", "Description", length=32000),
            field_spec("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, default=False),
            field_spec(
                "IsConverted",
                "boolean",
                "Converted",
                nillable=False,
                default=False,
                createable=False,
                updateable=False,
            ),
            OWNER_FIELD,
            _external_id(),
        ],
    },
    {
        # Decision: User records exist (seeded) so that Owner.Username / OwnerId resolve and
        # queries work, but the emulator does not create, change or delete users through the
        # Bulk API (real orgs need licences, profiles and much more for that).
        "name": "User",
        "label": "User",
        "keyPrefix": "005",
        "createable": False,
        "updateable": False,
        "deletable": False,
        "compoundName": ["FirstName", "LastName"],
        "fields": [
            field_spec(
                "Username", "string", "Username", length=80, nillable=False, unique=True, idLookup=True
            ),
            field_spec("Email", "email", "Email", length=128, nillable=False),
            field_spec("FirstName", "string", "First Name", length=40),
            field_spec("LastName", "string", "Last Name", length=80, nillable=False),
            read_only_spec("Name", "string", "Full Name", length=121),
            field_spec("Alias", "string", "Alias", length=8, nillable=False),
            field_spec("IsActive", "boolean", "Active", nillable=False, default=True),
            field_spec("FederationIdentifier", "string", "SAML Federation ID", length=512, idLookup=True),
        ],
    },
    {
        # The fields Salesforce's CLI reads on every command (@salesforce/core, org/determineOrg.js:
        # "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix,
        # OrganizationType FROM Organization"); names, types and lengths from the Organization entry of
        # the object reference (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm).
        # One read-only record; the Bulk API can read it but not write it.
        "name": "Organization",
        "label": "Organization",
        "keyPrefix": "00D",
        "createable": False,
        "updateable": False,
        "deletable": False,
        "fields": [
            read_only_spec("Name", "string", "Name", length=80, nillable=False),
            read_only_spec("Division", "string", "Division", length=80),
            read_only_spec("InstanceName", "string", "Instance Name", length=5),
            read_only_spec("IsSandbox", "boolean", "Is Sandbox", nillable=False, default=False),
            read_only_spec("TrialExpirationDate", "datetime", "Trial Expiration Date"),
            read_only_spec("NamespacePrefix", "string", "Namespace Prefix", length=15),
            read_only_spec("OrganizationType", "picklist", "Edition", length=40),
            read_only_spec("LanguageLocaleKey", "picklist", "Locale", length=40),
            read_only_spec("TimeZoneSidKey", "picklist", "Time Zone", length=40),
            read_only_spec("DefaultLocaleSidKey", "picklist", "Default Locale", length=40),
        ],
    },
]


#: The Organization record (``Id`` is the org's id, given when the store is opened).
ORGANIZATION: dict[str, object] = {
    "Name": "Emulator",
    "InstanceName": "EMU1",
    "IsSandbox": 0,
    "OrganizationType": "Enterprise Edition",
    "LanguageLocaleKey": "en_US",
    "TimeZoneSidKey": "GMT",
    "DefaultLocaleSidKey": "en_US",
}

#: Users seeded into a new database; the first is the admin user who owns records and jobs.
SEED_USERS: list[dict[str, str]] = [
    {
        "Username": ADMIN_USERNAME,
        "Email": ADMIN_USERNAME,
        "FirstName": "Emulator",
        "LastName": "Admin",
        "Alias": "eadmin",
    },
    {
        "Username": "integration@emulator.example",
        "Email": "integration@emulator.example",
        "FirstName": "Integration",
        "LastName": "User",
        "Alias": "integ",
    },
    {
        "Username": "jane.doe@emulator.example",
        "Email": "jane.doe@emulator.example",
        "FirstName": "Jane",
        "LastName": "Doe",
        "Alias": "jdoe",
    },
]
