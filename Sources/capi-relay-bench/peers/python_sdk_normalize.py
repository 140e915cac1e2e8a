#!/usr/bin/env python3
"""The peer for capi-relay-bench normalize: Meta's official Python SDK normalizing and hashing
the same records, one core.

The benchmark drives it round by round, alternating with its own rounds, so both sides are
measured in the same stretches of time on a machine whose speed drifts: each line read from
standard input runs one round over every record, answered with that round's seconds.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install facebook-business
    /tmp/venv/bin/python python_sdk_normalize.py RECORDS.json   # then one line per round
"""
import json
import sys
import time

from facebook_business.adobjects.serverside.normalize import Normalize


def one_round(records):
    start = time.perf_counter()
    for record in records:
        for field, value in record.items():
            try:
                Normalize.normalize_field(field, value)
            except (TypeError, ValueError):
                pass  # the SDK refuses some real-world formats; counted all the same
    return time.perf_counter() - start


def main():
    records = json.load(open(sys.argv[1]))
    print("ready", flush=True)
    for _ in sys.stdin:
        print(one_round(records), flush=True)


if __name__ == "__main__":
    main()
