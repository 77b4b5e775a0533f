#!/usr/bin/python3
"""Validates request bodies against a provider's official OpenAPI schema.

usage: schema_check.py SPEC.json SCHEMA_NAME < bodies.jsonl
       schema_check.py SPEC.json --path /campaign --method post < bodies.jsonl
       schema_check.py SPEC.json --path /campaign --method get --query < queries.jsonl
One JSON document per input line; prints one line per invalid body and
exits 1 if there was any. Uses Debian's python3-jsonschema.

SCHEMA_NAME is a named schema (components.schemas). With --path and
--method the schema is the operation's inline request body; with --query
each line is an object of query parameters, checked against the
operation's declared parameters (unknown names are problems too).
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


def parse_args(argv):
    """SPEC NAME, or SPEC --path P --method M [--query]."""
    args = {"spec": argv[1], "name": None, "path": None, "method": None, "query": False}
    rest = argv[2:]
    if rest and not rest[0].startswith("--"):
        args["name"] = rest.pop(0)
    while rest:
        flag = rest.pop(0)
        if flag in ("--path", "--method") and rest:
            args[flag[2:]] = rest.pop(0)
        elif flag == "--query":
            args["query"] = True
        else:
            sys.exit(f"schema_check.py: unexpected argument {flag}")
    if not args["name"] and not (args["path"] and args["method"]):
        sys.exit("usage: schema_check.py SPEC.json SCHEMA_NAME | --path P --method M [--query]")
    return args


def query_schema(operation):
    """The declared query parameters as one object schema."""
    props, required = {}, []
    for param in operation.get("parameters", []):
        if param.get("in") != "query":
            continue
        props[param["name"]] = param.get("schema", {})
        if param.get("required"):
            required.append(param["name"])
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


def main():
    args = parse_args(sys.argv)
    with open(args["spec"]) as f:
        spec = json.load(f)
    schemas = spec.get("schemas") or spec.get("components", {}).get("schemas") or {}
    fix_known_defects(schemas)
    root = dict(spec)
    root["components"] = dict(spec.get("components", {}), schemas=schemas)
    if args["name"]:
        name = args["name"]
        schema = dict(schemas[name])
    else:
        operation = spec["paths"][args["path"]][args["method"].lower()]
        if args["query"]:
            name = f"{args['method'].upper()} {args['path']} query"
            schema = query_schema(operation)
        else:
            name = f"{args['method'].upper()} {args['path']}"
            content = operation["requestBody"]["content"]["application/json"]
            schema = dict(content["schema"])
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
