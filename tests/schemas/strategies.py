"""Values generated from a JSON Schema, for the corpus's property tests. hypothesis-jsonschema
(0.23, the latest) no longer runs on this Hypothesis (6.170 removed the internals it drives), so
this covers what the corpus uses: types, enum/const, objects (required and optional keys),
arrays, anyOf/oneOf, local $ref, string lengths and patterns, number bounds, and the formats
email, date, date-time and uri — every value valid under the schema, which the test checks."""

from datetime import UTC, datetime

from hypothesis import strategies as st

from policies.schema import resolve

TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t"), max_size=40)
FORMATS = {
    "email": st.from_regex(r"\A[a-z0-9._%+-]{1,12}@[a-z0-9-]{1,10}\.[a-z]{2,4}\Z"),
    "date": st.dates().map(lambda d: d.isoformat()),
    "date-time": st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC).isoformat()
    ),
    "uri": st.from_regex(r"\Ahttps://[a-z]{1,10}\.example/[a-z0-9/]{0,15}\Z"),
}


def values(schema, root=None):
    root = schema if root is None else root
    schema, _ = resolve(schema, root)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return st.one_of([values(option, root) for option in schema[keyword]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([values({**schema, "type": k}, root) for k in kind])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "number":
        low, high = schema.get("minimum", schema.get("exclusiveMinimum")), schema.get("maximum")
        floats = st.floats(
            min_value=low,
            max_value=high,
            allow_nan=False,
            allow_infinity=False,
            exclude_min="exclusiveMinimum" in schema,
        )
        ints = st.integers(
            min_value=None if low is None else int(low) + 1, max_value=None if high is None else int(high)
        )
        return floats | ints
    if kind == "string":
        if schema.get("format") in FORMATS:
            return FORMATS[schema["format"]]
        if "pattern" in schema:
            return st.from_regex(schema["pattern"].replace("^", r"\A").replace("$", r"\Z"))
        return TEXT.filter(lambda t: len(t) <= schema.get("maxLength", 10**6))
    if kind == "array":
        low = schema.get("minItems", 0)
        return st.lists(values(schema.get("items", {}), root), min_size=low, max_size=max(low, 4))
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = [name for name in schema.get("required", []) if name in properties]
        optional = {name: values(sub, root) for name, sub in properties.items() if name not in required}
        return st.fixed_dictionaries({name: values(properties[name], root) for name in required}, optional=optional)
    return st.recursive(st.none() | st.booleans() | st.integers() | TEXT, lambda inner: st.lists(inner, max_size=3))
