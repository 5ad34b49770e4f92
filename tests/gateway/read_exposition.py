#!/usr/bin/python3
"""Reads a Prometheus text exposition with the Prometheus project's own Python client
(Debian's python3-prometheus-client) and prints every sample as JSON: [[name, {labels}, value],
...]. nginx_test.cc compares it with what the project's reader found, so the scrape is read
the same way by two readers written apart."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
samples = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps(samples))
