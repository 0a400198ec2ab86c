"""Salesforce's documented Bulk API 2.0 limits, declared once.

Sources: "Bulk API and Bulk API 2.0 Limits and Allocations"
(https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-bulkapi.html),
"Upload Job Data" (https://developer.salesforce.com/docs/platform/api-asynch/guide/upload-job-data.html) and
"Create a Job" (https://developer.salesforce.com/docs/platform/api-asynch/guide/create-job.html).
"""

from __future__ import annotations

__all__ = [
    "DAILY_BATCHES",
    "FIELD_MAX_CHARS",
    "HEADER_MAX_CHARS",
    "JOB_LIST_PAGE",
    "MAX_FIELDS",
    "MULTIPART_MAX_CHARS",
    "RECORDS_PER_BATCH",
    "RECORD_MAX_BYTES",
    "RECORD_MAX_CHARS",
    "UPLOAD_MAX_BYTES",
]

#: One upload may be 150 MB once base64-encoded; base64 grows data by 4/3, so about 112.5 MB raw.
UPLOAD_MAX_BYTES = 150_000_000 * 3 // 4
#: A multipart create takes at most 100,000 characters of CSV (current docs; older ones said 20,000).
MULTIPART_MAX_CHARS = 100_000
#: Salesforce processes ingest data in internal batches of this many records; each counts against
#: the org's batches per rolling 24 hours.
RECORDS_PER_BATCH = 10_000
#: Batches per rolling 24 hours, shared with Bulk API 1.0.
DAILY_BATCHES = 15_000
#: A field holds at most this many characters.
FIELD_MAX_CHARS = 131_072
#: A record holds at most this many characters ...
RECORD_MAX_CHARS = 400_000
#: ... and at most this many fields.
MAX_FIELDS = 5_000
#: The header row holds at most this many characters.
HEADER_MAX_CHARS = 32_000
#: A UTF-8 character takes at most 4 bytes, so a record longer than this many bytes is certainly over
#: the character limit: the scanner never needs to hold more than this much of one record.
RECORD_MAX_BYTES = 4 * RECORD_MAX_CHARS + 2
#: The job list comes in pages of this many jobs ("Get All Jobs",
#: https://developer.salesforce.com/docs/platform/api-asynch/guide/get-all-jobs.html).
JOB_LIST_PAGE = 1_000
