#!/usr/bin/env python3
"""The peer for capi-relay-bench normalize: Meta's official Python SDK normalizing and hashing
the same records, one core. Prints the best records-per-second of the given rounds.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install facebook-business
    /tmp/venv/bin/python python_sdk_normalize.py RECORDS.json ROUNDS
"""
import json
import sys
import time

from facebook_business.adobjects.serverside.normalize import Normalize


def main():
    records = json.load(open(sys.argv[1]))
    rounds = int(sys.argv[2])
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for record in records:
            for field, value in record.items():
                try:
                    Normalize.normalize_field(field, value)
                except (TypeError, ValueError):
                    pass  # the SDK refuses some real-world formats; counted all the same
        best = min(best, time.perf_counter() - start)
    print(len(records) / best)


if __name__ == "__main__":
    main()
