#!/usr/bin/python3
"""Validates request bodies against a provider's official OpenAPI schema.

usage: schema_check.py SPEC.json SCHEMA_NAME < bodies.jsonl
One JSON document per input line; prints one line per invalid body and
exits 1 if there was any. Uses Debian's python3-jsonschema.
"""
import json
import sys

import jsonschema


def fix_known_defects(schemas):
    """Generator slips in Vapi's published spec that no real body can
    satisfy: serverMessages repeats its items' enum on the array itself,
    BackoffPlan.type says "object" for a string enum, and
    excludedStatusCodes says "object" for status codes (its own example is
    [400, 401, 403, 404]). Everything else is used exactly as published."""
    create = schemas.get("CreateCampaignDTO", {}).get("properties", {})
    if create.get("serverMessages", {}).get("type") == "array":
        create["serverMessages"].pop("enum", None)
    backoff = schemas.get("BackoffPlan", {}).get("properties", {})
    if backoff.get("type", {}).get("type") == "object" and "enum" in backoff["type"]:
        backoff["type"]["type"] = "string"
    codes = backoff.get("excludedStatusCodes", {}).get("items", {})
    if codes.get("type") == "object":
        codes["type"] = "integer"


def main():
    spec_path, name = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    schemas = spec.get("schemas") or spec.get("components", {}).get("schemas")
    fix_known_defects(schemas)
    root = {"components": {"schemas": schemas}}
    schema = dict(schemas[name])
    resolver = jsonschema.RefResolver("", root)
    validator = jsonschema.Draft7Validator(schema, resolver=resolver)
    bad = 0
    count = 0
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        count += 1
        body = json.loads(line)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        for e in errors:
            bad += 1
            path = "/".join(str(p) for p in e.path)
            print(f"body {lineno}: {path}: {e.message}")
    print(f"{count} bodies checked against {name}, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
