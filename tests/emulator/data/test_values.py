"""Cell parsing and Salesforce-style rendering (``_data/_values.py``)."""

from __future__ import annotations

import pytest

from asyncbulk.emulator._data import _values as V


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (912260031.0, "9.12260031E8"),  # the Bulk guide's successfulResults example
        (12.5, "12.5"),
        (1e7, "1.0E7"),
        (9999999.0, "9999999.0"),
        (2676.0, "2676.0"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (-3.0, "-3.0"),
        (0.0, "0.0"),
        (1.5e-10, "1.5E-10"),
        (123456.789, "123456.789"),
    ],
)
def test_java_double(value: float, text: str) -> None:
    assert V.java_double(value) == text


def test_format_error_forms() -> None:
    assert V.format_error("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record") == (
        "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--"
    )
    assert V.format_error("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"]) == (
        "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    )


def test_parse_string_length() -> None:
    out, errs = V.parse_string(["ab", "", "abcd", "#N/A"], 3, "Title", "Title", 3)
    assert out == ["ab", None, "abcd", None]
    assert errs == {2: "STRING_TOO_LONG:Title: data value too large: abcd (max length=3):Title --"}


def test_parse_email() -> None:
    out, errs = V.parse_email(["a@b.com", "nope", ""], 1, "Email", "Email")
    assert out[0] == "a@b.com"
    assert errs == {1: "INVALID_EMAIL_ADDRESS:Email: invalid email address: nope:Email --"}


def test_parse_numbers() -> None:
    out, errs = V.parse_int(["2676", "-5", "12.5", "x", ""], 2, "NumberOfEmployees", "Employees")
    assert out[:2] == [2676, -5] and out[4] is None
    assert errs[2] == (
        "INVALID_FIELD:Failed to deserialize field at col 2. Due to, '12.5' is not a valid value "
        "for the type xsd:int:NumberOfEmployees --"
    )
    assert 3 in errs
    out, errs = V.parse_double(["9.12260031E8", "1e3", "nan", "1_0", ".5"], 1, "AnnualRevenue", "AR", 18, 2)
    assert out[0] == 912260031.0 and out[1] == 1000.0 and out[4] == 0.5
    assert set(errs) == {2, 3}
    assert "xsd:double" in errs[2]
    _, errs = V.parse_double(["1e20"], 1, "AnnualRevenue", "Annual Revenue", 18, 2)
    assert errs[0].startswith("NUMBER_OUTSIDE_VALID_RANGE:Annual Revenue: value outside of valid range")


def test_parse_boolean() -> None:
    out, errs = V.parse_boolean(["true", "FALSE", "1", "0", "", "yes"], 1, "DoNotCall", "Do Not Call")
    assert out == [1, 0, 1, 0, None, None]
    assert errs == {
        5: "INVALID_FIELD:Failed to deserialize field at col 1. Due to, 'yes' is not a valid value "
        "for the type xsd:boolean:DoNotCall --"
    }


def test_parse_date() -> None:
    out, errs = V.parse_date(["1980-02-29", "1940-06-07Z", "", "6/15/19", "2021-02-30"], 4, "Birthdate", "B")
    assert out[:3] == ["1980-02-29", "1940-06-07", None]
    assert errs[3] == (
        "INVALID_FIELD:Failed to deserialize field at col 4. Due to, '6/15/19' is not a valid value "
        "for the type xsd:date:Birthdate --"
    )
    assert "xsd:date" in errs[4]


def test_parse_datetime_normalises_to_utc() -> None:
    out, errs = V.parse_datetime(
        [
            "2024-01-15T10:30:00.123Z",
            "2024-01-15T10:30:00Z",
            "2024-01-15T12:30:00.5+02:00",
            "2024-01-15T05:30:00-0500",
            "2024-01-15",
            "2024-01-15 10:30:00",
        ],
        1,
        "Last_Contacted__c",
        "Last Contacted",
    )
    assert out[:5] == [
        "2024-01-15T10:30:00.123Z",
        "2024-01-15T10:30:00.000Z",
        "2024-01-15T10:30:00.500Z",
        "2024-01-15T10:30:00.000Z",
        "2024-01-15T00:00:00.000Z",
    ]
    assert list(errs) == [5] and "xsd:dateTime" in errs[5]
    assert V.render_datetime_rest("2024-01-15T10:30:00.000Z") == "2024-01-15T10:30:00.000+0000"


def test_email_column_check() -> None:
    values = ["a@b.com", "#N/A", "", "x.y+z@sub.example.org", "a@b.com\nc@d.com", "a@b.c."]
    out, errors = V.parse_email(values, 2, "Email", "Email")
    assert out == ["a@b.com", None, None, "x.y+z@sub.example.org", "a@b.com\nc@d.com", "a@b.c."]
    assert sorted(errors) == [4, 5]
    assert V.parse_email(["a@b.com", "c@d.org"], 2, "Email", "Email") == (["a@b.com", "c@d.org"], {})
