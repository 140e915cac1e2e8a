#!/usr/bin/env python3
"""Writes python-sdk-vectors.json: what Meta's official Python SDK hashes for inputs where its
normalization rules agree with Meta's documentation.

Inputs where the SDK departs from the docs (national phone numbers, trunk 0, punctuation in
names, dates not in YYYYMMDD, letters in phone numbers, empty values) are deliberately absent;
the Swift tests assert Meta's documented answer for those instead.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install facebook-business
    /tmp/venv/bin/python Tests/RelayCoreTests/Vectors/make_sdk_vectors.py

CI reads the checked-in JSON and never needs the SDK.
"""
import json
import os
from importlib.metadata import version

from facebook_business.adobjects.serverside.normalize import Normalize

INPUTS = {
    "em": ["John_Smith@gmail.com", "  Foo.Bar@Example.COM ", "a@b.c", "f`oo@bar.com",
           '"a b"@c.d', "joe@eg.com"],
    "ph": ["+1 (650) 555-1212", "+442071838750", "0044 844 412 4653", "+44 20 7946 0000",
           "+49 30 1234567", "16505551212", "+33 1 23 45 67 89", "12345678912"],
    "fn": ["Mary", "정", "Valéry", "JOHN", "  Joe  "],
    "ln": ["Smith", "Washington"],
    "ct": ["Menlo Park", "Seattle-98121", "Washington D.C", "St. Louis", "London", "paris",
           "New York"],
    "st": ["N.Y.", "CA", "az", "ny"],
    "zp": ["  98121", "98121-4892", "NR9 5AL", "94035-1234", "M1 1AE", "75018", "1987"],
    "country": ["   US   ", "U.S.", "gb", "FR", "us"],
    "ge": ["f", "M"],
    "db": ["19970216", "20000101"],
}

ALREADY_HASHED = [("em", "A" * 64), ("ph", " " + "0123456789abcdef" * 4 + " ")]


def main():
    vectors = []
    for field, values in INPUTS.items():
        for value in values:
            vectors.append({"field": field, "input": value,
                            "hash": Normalize.normalize_field(field, value)})
    for field, value in ALREADY_HASHED:
        vectors.append({"field": field, "input": value,
                        "hash": Normalize.normalize_field(field, value)})
    out = {
        "generator": "Tests/RelayCoreTests/Vectors/make_sdk_vectors.py",
        "sdk": "facebook-business " + version("facebook-business"),
        "vectors": vectors,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python-sdk-vectors.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=2)
        f.write("\n")


main()
