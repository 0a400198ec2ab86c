"""The other tenants of a real org's job list: Bulk API 1.0 jobs and other users' jobs.

``GET jobs/ingest`` lists every ingest job of the org, "including Bulk API (Classic) jobs"
(``jobType`` ``BigObjectIngest``, ``Classic`` or ``V2Ingest``), in an order Salesforce does not set
("Get All Jobs", https://developer.salesforce.com/docs/platform/api-asynch/guide/get-all-jobs.html).
A loader that lists jobs to find its own must ignore these. They are made once from the seed;
their exact shapes are the emulator's (no capture of a mixed list was found): a Classic job has
Bulk 1.0's states (``Open``, ``Closed``, ``Aborted``, ``Failed``), content types and no line ending
or delimiter; other users' V2 jobs look like ours with another ``createdById``. Some Classic jobs
belong to the running user, as Data Loader's would. They can be listed and, for the V2 ones, read
(``GET jobs/ingest/{id}``); anything else answers 404.
"""

from __future__ import annotations

import random
import string
from typing import Any

from .._vocab import API_VERSIONS
from ._job import format_date

__all__ = ["foreign_jobs"]

_OTHER_USERS = ("005EM0000000002AAA", "005EM0000000003AAA", "0054x000004QnTsAAK", "0058d00000AbCdEAAT")
_OBJECTS = ("Account", "Contact", "Lead", "Opportunity", "Case", "Task", "Campaign__c", "Invoice__c")
_V2_STATES = (
    "JobComplete",
    "JobComplete",
    "JobComplete",
    "Failed",
    "Aborted",
    "Open",
    "InProgress",
    "UploadComplete",
)
_CLASSIC_STATES = ("Closed", "Closed", "Closed", "Open", "Aborted", "Failed")
_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _job_id(rng: random.Random) -> str:
    # Another pod than the emulator's own ids ("EM0"), so a foreign id never equals one of ours.
    return "7505g" + "".join(rng.choice(_ALPHABET) for _ in range(10)) + "AAA"


def foreign_jobs(count: int, seed: int, now: float, running_user: str) -> list[dict[str, Any]]:
    """``count`` foreign jobs as job-list records (their full info for the V2 ones under ``"_full"``)."""
    rng = random.Random(f"foreign-jobs:{seed}")
    jobs: list[dict[str, Any]] = []
    for _ in range(count):
        kind = rng.choices(("Classic", "V2Ingest", "BigObjectIngest"), weights=(5, 4, 1))[0]
        created = now - rng.uniform(600, 6 * 86_400)
        version = float(rng.choice(API_VERSIONS))
        if kind == "Classic":
            owner = running_user if rng.random() < 0.3 else rng.choice(_OTHER_USERS)
            state = rng.choice(_CLASSIC_STATES)
            operation = rng.choice(("insert", "update", "upsert", "delete", "query", "queryAll"))
            content_type = rng.choice(("CSV", "XML", "JSON", "ZIP_CSV"))
            mode = rng.choice(("Parallel", "Serial"))
        else:
            owner = rng.choice(_OTHER_USERS)
            state = rng.choice(_V2_STATES)
            operation = rng.choice(("insert", "update", "upsert", "delete", "hardDelete"))
            content_type, mode = "CSV", "Parallel"
        job_id = _job_id(rng)
        info: dict[str, Any] = {
            "id": job_id,
            "operation": operation,
            "object": rng.choice(_OBJECTS) if kind != "BigObjectIngest" else "Archive__b",
            "createdById": owner,
            "createdDate": format_date(created),
            "systemModstamp": format_date(created + rng.uniform(1, 600)),
            "state": state,
        }
        if operation == "upsert":
            info["externalIdFieldName"] = "External_Id__c"
        info |= {"concurrencyMode": mode, "contentType": content_type, "apiVersion": version, "jobType": kind}
        if kind != "Classic":
            if state == "Open":
                info["contentUrl"] = f"services/data/v{version}/jobs/ingest/{job_id}/batches"
            info["lineEnding"] = rng.choice(("LF", "LF", "CRLF"))
            info["columnDelimiter"] = rng.choice(("COMMA", "COMMA", "PIPE", "TAB"))
            done = state in ("JobComplete", "Failed", "Aborted", "InProgress")
            processed = rng.randrange(1, 500_000) if done else 0
            full = dict(info)
            full |= {
                "numberRecordsProcessed": processed,
                "numberRecordsFailed": rng.randrange(0, processed // 10 + 1) if done else 0,
                "retries": 0,
                "totalProcessingTime": rng.randrange(100, 900_000) if state != "InProgress" and done else 0,
                "apiActiveProcessingTime": rng.randrange(50, 600_000) if done else 0,
                "apexProcessingTime": rng.randrange(0, 20_000) if done else 0,
            }
            if state == "Failed":
                full["errorMessage"] = "InvalidBatch : Field name not found : Legacy_Field__c"
            info["_full"] = full
        jobs.append(info)
    return jobs
