"""Reading an action type's JSON Schema as people read parameters: local `$ref`s resolved,
properties in the order the schema gave them, labels, the variants of an `anyOf`, and
validation errors placed at the deepest field they concern, in plain words.

PostgreSQL's jsonb does not keep the order of an object's keys, so the order of every
`properties` in the schema is kept beside it (`ActionType.params_order`, by JSON pointer).
"""

import re

from jsonschema import Draft202012Validator

NULL_LABEL = "empty (null)"


def resolve(schema, root, pointer=""):
    """(schema, pointer) with a local `$ref` followed; keywords beside the `$ref` (a `default`,
    a `description`) are kept over the target's. Any other reference is left as it is."""
    seen = set()
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#"):
        ref = schema["$ref"]
        if ref in seen:
            break
        seen.add(ref)
        target = _pointer_get(root, ref[1:])
        if not isinstance(target, dict):
            break
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema, pointer = {**target, **siblings}, ref[1:].lstrip("/")
    return (schema if isinstance(schema, dict) else {}), pointer


def _pointer_get(document, pointer):
    node = document
    for part in [p for p in pointer.split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def child_pointer(pointer, *parts):
    return "/".join([pointer, *(str(p) for p in parts)]).lstrip("/")


def property_orders(schema, pointer="", found=None):
    """{pointer: [property names in the schema's order]} for every object in the schema: what
    `ActionType.params_order` keeps, read from the schema as it was written (before jsonb)."""
    found = {} if found is None else found
    if isinstance(schema, dict):
        if isinstance(schema.get("properties"), dict):
            found[pointer] = list(schema["properties"])
        for key, value in schema.items():
            if key in ("enum", "const", "default", "examples", "required"):
                continue
            if isinstance(value, (dict, list)):
                property_orders(value, child_pointer(pointer, key), found)
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            property_orders(item, child_pointer(pointer, index), found)
    return found


def merged_orders(schema, known):
    """The orders of `schema` as written, except where `known` already holds the same names: a
    schema read back from jsonb has lost its order, and saving it again must not lose it too."""
    merged = {}
    for pointer, names in property_orders(schema).items():
        before = (known or {}).get(pointer)
        merged[pointer] = before if before is not None and sorted(before) == sorted(names) else names
    return merged


def ordered_names(schema, pointer, orders, keys=()):
    """The schema's property names in its order, then any other `keys` (sorted)."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    known = [name for name in (orders or {}).get(pointer, []) if name in properties]
    names = known + [name for name in properties if name not in known]
    return names + sorted(str(key) for key in keys if key not in properties)


def ordered_value(value, schema, root, orders, pointer=""):
    """`value` with every object's keys in the schema's order, then the rest: the order a
    reviewer reads and the API answers in."""
    schema, pointer = resolve(schema, root, pointer)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        result = {}
        for name in ordered_names(schema, pointer, orders, value):
            if name in value:
                sub = properties.get(name, {})
                result[name] = ordered_value(value[name], sub, root, orders, child_pointer(pointer, "properties", name))
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        items_pointer = child_pointer(pointer, "items")
        return [ordered_value(item, schema["items"], root, orders, items_pointer) for item in value]
    return value


def infer_schema(value):
    """A provisional JSON Schema for a value, from its shape alone: the type of each key, nested
    objects and lists (a list's items from its first), every key present required. A draft type's
    schema, taken from its first call, for a person to review."""
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array", "items": infer_schema(value[0])} if value else {"type": "array"}
    if isinstance(value, dict):
        return {
            "type": "object",
            "properties": {key: infer_schema(item) for key, item in value.items()},
            "required": list(value),
        }
    return {}  # null: any value


def humanize_key(name):
    """ "newText" → "New text", "repo_path" → "Repo path", "entityType" → "Entity type"."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name)).replace("_", " ").replace("-", " ").strip()
    words = text.split()
    if not words:
        return str(name)
    words = [words[0]] + [w if w.isupper() and len(w) > 1 else w.lower() for w in words[1:]]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def label(name, schema):
    """What a person calls a parameter: its schema `title`, else its humanized key. A
    description is help text, never a label (MCP schemas carry long ones and no titles)."""
    title = schema.get("title") if isinstance(schema, dict) else None
    return title if isinstance(title, str) and title.strip() else humanize_key(name)


def variants(schema):
    """The alternatives of an `anyOf`/`oneOf`, or of a list of types, else None."""
    for keyword in ("anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list) and schema[keyword]:
            shared = {k: v for k, v in schema.items() if k not in (keyword, "title", "description", "default")}
            return [{**shared, **option} if isinstance(option, dict) else option for option in schema[keyword]]
    if isinstance(schema.get("type"), list) and len(schema["type"]) > 1:
        return [{**schema, "type": kind} for kind in schema["type"]]
    return None


TYPE_NOUNS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "yes or no",
    "array": "a list",
    "object": "an object",
    "null": NULL_LABEL,
}


def variant_label(schema, root):
    schema, _ = resolve(schema, root)
    if schema.get("type") == "null":
        return NULL_LABEL
    properties = schema.get("properties") or {}
    for name, sub in properties.items():
        if isinstance(sub, dict) and "const" in sub:
            return f"{label(name, sub)}: {sub['const']}"
    if isinstance(schema.get("title"), str):
        return humanize_key(schema["title"]) if " " not in schema["title"] else schema["title"]
    required = [humanize_key(name) for name in schema.get("required", []) if name in properties]
    if required:
        return "with " + ", ".join(required)
    if "format" in schema:
        return f"{TYPE_NOUNS.get(schema.get('type'), 'value')} ({schema['format']})"
    return TYPE_NOUNS.get(schema.get("type"), "a value")


def matches(value, schema, root):
    """Does `value` satisfy the sub-schema `schema` of `root` (whose `$ref`s it may use)?"""
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return validator.evolve(schema=schema).is_valid(value)


# Errors, in plain words, at the deepest field they concern.


def plain_errors(schema, params):
    """[{"path": "edits.1.newText", "message": "Missing."}]: every way `params` fails, formats
    checked, the errors of an `anyOf` replaced by those of the variant that came closest."""
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    found = []
    for error in (leaf for top in validator.iter_errors(params) for leaf in _leaves(top)):
        path = [str(part) for part in error.absolute_path]
        if error.validator == "required":
            missing = _missing_name(error)
            path.append(missing)
            message = "Missing: fill this in."
        else:
            message = plain_message(error)
        found.append({"path": ".".join(path) or "(root)", "message": message})
    return sorted(found, key=lambda e: e["path"])


def _leaves(error):
    """The errors an `anyOf`/`oneOf` error stands for: those of the variant that came closest
    (one of the right type, whose constants match, with the fewest errors)."""
    if not error.context:
        return [error]
    branches = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0], []).append(sub)

    def mismatched(errors):
        return any(
            (e.validator == "type" and not e.relative_path) or (e.validator == "const" and len(e.relative_path) <= 1)
            for e in errors
        )

    ranked = sorted(branches.values(), key=lambda errors: (mismatched(errors), len(errors)))
    if mismatched(ranked[0]):
        return [error]  # no variant fits at all: say so at this field
    return [leaf for sub in ranked[0] for leaf in _leaves(sub)]


def _missing_name(error):
    match = re.match(r"^'(.*)' is a required property$", error.message)
    if match:
        return match.group(1)
    missing = [name for name in error.validator_value if name not in (error.instance or {})]
    return str(missing[0]) if missing else ""


FORMAT_WORDS = {
    "email": "an email address, like name@example.com",
    "idn-email": "an email address, like name@example.com",
    "date": "a date, like 2026-12-31",
    "date-time": "a date and time, like 2026-12-31T09:30:00Z",
    "time": "a time, like 09:30:00Z",
    "uri": "a full address, like https://example.com/page",
    "uri-reference": "an address or a path",
    "uuid": "a UUID",
    "ipv4": "an IPv4 address",
    "ipv6": "an IPv6 address",
    "hostname": "a host name",
}


# The parts of an RFC 3339 date and time, to say which one a typed text lacks.
DATE = r"\d{4}-\d{2}-\d{2}"
MINUTES = r"\d{2}:\d{2}"
SECONDS = r"\d{2}:\d{2}:\d{2}(?:\.\d+)?"
ZONE = r"(?:[Zz]|[+-]\d{2}:\d{2})"


def date_time_message(text):
    """What is wrong with a text that should be an RFC 3339 date and time, in words."""
    text = text.strip()
    example = "like 2026-12-31T09:30:00Z"
    if re.fullmatch(DATE, text):
        return f"Add the time and its time zone, {example}."
    if re.fullmatch(f"{DATE}[Tt ](?:{SECONDS}|{MINUTES})", text):
        return f"Add the time zone: Z for UTC, or an offset like +01:00 ({example})."
    if re.fullmatch(f"{DATE}[Tt]{MINUTES}{ZONE}", text):
        return f"Add the seconds, {example}."
    if re.fullmatch(f"{DATE} {SECONDS}{ZONE}", text):
        return f"Put a T between the date and the time, {example}."
    if re.fullmatch(f"{DATE}[Tt]{SECONDS}{ZONE}", text):
        return f"No such date or time (check the month, day, hour and minutes), {example}."
    return f"Not a date and time, {example}."


def plain_message(error):
    """One validation error as a person reads it ("At least 0." rather than "-5 is less than
    or equal to the minimum of 0")."""
    kind, limit = error.validator, error.validator_value
    if kind == "minimum":
        return f"At least {limit}."
    if kind == "maximum":
        return f"At most {limit}."
    if kind == "exclusiveMinimum":
        return f"More than {limit}."
    if kind == "exclusiveMaximum":
        return f"Less than {limit}."
    if kind == "minLength":
        return f"At least {limit} character{'s' if limit != 1 else ''}."
    if kind == "maxLength":
        return f"At most {limit} character{'s' if limit != 1 else ''} (this has {len(error.instance)})."
    if kind == "minItems":
        return f"At least {limit} item{'s' if limit != 1 else ''}."
    if kind == "maxItems":
        return f"At most {limit} item{'s' if limit != 1 else ''}."
    if kind == "pattern":
        return f"Not in the expected form (the pattern {limit})."
    if kind == "format":
        if limit == "date-time" and isinstance(error.instance, str):
            return date_time_message(error.instance)
        return f"Not {FORMAT_WORDS.get(limit, f'a valid {limit}')}."
    if kind == "enum":
        return "Choose one of: " + ", ".join(str(choice) for choice in limit) + "."
    if kind == "const":
        return f"Must be {limit}."
    if kind == "type":
        kinds = limit if isinstance(limit, list) else [limit]
        return "Should be " + " or ".join(TYPE_NOUNS.get(k, k) for k in kinds) + "."
    if kind == "multipleOf":
        return f"Must be a multiple of {limit}."
    if kind == "uniqueItems":
        return "Each item only once."
    if kind == "additionalProperties":
        return "Not a field this tool takes: " + error.message.split("(")[-1].rstrip(")") + "."
    if kind in ("anyOf", "oneOf"):
        kinds = [option.get("type") for option in limit if isinstance(option, dict)]
        if error.context is not None and all(isinstance(k, str) for k in kinds) and kinds:
            return "Should be " + " or ".join(TYPE_NOUNS.get(k, k) for k in kinds) + "."
        return "Fits none of the allowed forms." if error.context else "Fits more than one of the allowed forms."
    return error.message
