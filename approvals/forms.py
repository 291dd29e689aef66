"""The edit-before-approve form, built from the action type's JSON Schema recursively: objects
as fieldsets, arrays as rows (added and removed by a server round trip, so without JavaScript
too), `anyOf`/`oneOf` as a choice of variant (a nullable field's "empty (null)" among them),
enums as selects, formats as their inputs; and the reviewer's form, the reject form, the
"allow similar" form."""

import json
import math
import re

from django import forms
from django.utils.functional import cached_property
from django.utils.html import format_html_join

from approvals.models import InvalidEdit
from policies.schema import (
    child_pointer,
    label,
    matches,
    ordered_names,
    resolve,
    variant_label,
    variants,
)
from policies.summary import plain_text

LONG_TEXT = 200  # characters past which a string gets a text area
MISSING = object()  # a key that is not there (as opposed to null)
INPUT_TYPES = {"date": "date", "email": "email", "uri": "url"}
# A date and time with its time zone is typed as text: datetime-local cannot carry the zone.
# The server checks the format and says what is missing (policies.schema.plain_message).
TYPED_FORMATS = {
    "date-time": ("2026-12-31T09:30:00Z", "A date and time with its time zone (Z for UTC, or like +01:00)."),
    "time": ("09:30:00Z", "A time with its time zone (Z for UTC, or like +01:00)."),
}
OPS = ("add", "remove", "refresh")


class Field:
    """One field of the edit form: what it shows, what it read back, and its errors."""

    def __init__(self, kind, name, label_text, schema, *, required=False, help_text=""):
        self.kind = kind  # object, array, choice, null, input, textarea, select, json, readonly
        self.name = name
        self.label = label_text
        self.schema = schema
        self.required = required
        self.help_text = help_text
        self.children = []
        self.errors = []
        self.value = MISSING
        self.raw = ""
        self.input_type = "text"
        self.options = []  # (value, text) of a select; the variants of a choice
        self.chosen = ""
        self.row = None  # the index of an array's row
        self.step = self.placeholder = self.item_label = ""
        self.prefix = "param-"

    @property
    def id(self):
        return self.prefix + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


class ParamsForm:
    """The reviewer's edit of an action's parameters. `data` is the POST; a parameter (or a
    nested field) the POST does not mention keeps its proposed value."""

    def __init__(self, action, data=None):
        self.action = action
        self.is_bound = data is not None
        action_type = action.action_type
        self.root = action_type.params_schema or {}
        self.orders = action_type.params_order
        self.data = dict(data.items()) if data is not None else {}
        self.op = self.data.pop("__op", "")
        self._apply_op()
        self.non_field_errors = []
        self.by_name = {}
        properties = self.root.get("properties") or {}
        required = set(self.root.get("required") or [])
        names = ordered_names(self.root, "", self.orders, set(action.params) | set(action_type.editable_params))
        self.fields = []
        for name in names:
            original = action.params.get(name, MISSING)
            schema = properties.get(name, {})
            if action_type.may_edit(name):
                pointer = child_pointer("", "properties", name)
                field = self._build(schema, name, name, pointer, original, required=name in required)
            elif original is not MISSING:
                field = Field("readonly", name, label(name, resolve(schema, self.root)[0]), schema)
                field.value = original
                if any(key == name or key.startswith(f"{name}.") for key in self.data):
                    self.non_field_errors.append(f"“{field.label}” may not be edited: the policy does not allow it.")
            else:
                continue
            self.fields.append(field)
        self._cleaned = False

    def __iter__(self):
        return iter(self.fields)

    # Reading the POST.

    def _present(self, name):
        return self.is_bound and name in self.data

    def _apply_op(self):
        """Add or remove an array's row: the POST rewritten as if the row had been there (or
        never been), so the rows after a removed one keep what was typed in them."""
        kind, _, target = self.op.partition(":")
        if kind == "add":
            rows = _int(self.data.get(f"{target}.__rows"), 0)
            self.data[f"{target}.__rows"] = str(rows + 1)
            self.data[f"{target}.{rows}.__new"] = "1"
        elif kind == "remove":
            array, _, index = target.rpartition(".")
            removed = _int(index, -1)
            prefix = f"{array}."
            rewritten = {}
            for key, value in self.data.items():
                head, dot, tail = key[len(prefix) :].partition(".") if key.startswith(prefix) else ("", "", "")
                if head.isdigit():
                    if int(head) == removed:
                        continue
                    if int(head) > removed:
                        key = f"{prefix}{int(head) - 1}{dot}{tail}"
                rewritten[key] = value
            rows = _int(self.data.get(f"{array}.__rows"), 0)
            rewritten[f"{array}.__rows"] = str(max(rows - 1, 0))
            self.data = rewritten

    def _build(self, schema, name, key, pointer, original, *, required=False, row=None):
        schema, pointer = resolve(schema, self.root, pointer)
        is_new = self.is_bound and bool(self.data.get(f"{name}.__new"))
        if is_new:
            original = MISSING  # an added row starts empty, whatever was at its index before
        text = label(key, schema) if row is None else f"{key} {row + 1}"
        help_text = schema.get("description", "") if isinstance(schema.get("description"), str) else ""
        if "default" in schema:
            help_text = f"{help_text} Default: {plain_text(schema['default'])}.".strip()
        common = {"required": required, "help_text": help_text}
        options = variants(schema)
        if options:
            field = self._choice(schema, name, text, pointer, original, options, common)
        elif schema.get("type") == "object" and isinstance(schema.get("properties"), dict) and schema["properties"]:
            field = self._object(schema, name, text, pointer, original, common, row)
        elif (
            schema.get("type") == "array" and isinstance(schema.get("items", {}), dict) and "prefixItems" not in schema
        ):
            field = self._array(schema, name, text, pointer, original, common, row)
        else:
            field = self._scalar(schema, name, text, original, common, row)
        field.row, field.is_new = row, is_new
        field.prefix = f"param-{self.action.pk}-"
        self.by_name[name] = field
        return field

    def _object(self, schema, name, text, pointer, original, common, row):
        field = Field("object", name, text, schema, **common)
        properties = schema["properties"]
        required = set(schema.get("required") or [])
        given = original if isinstance(original, dict) else {}
        value = {}
        for key in ordered_names(schema, pointer, self.orders, given):
            if key not in properties:  # a key the schema does not describe stays as proposed
                extra = Field("readonly", f"{name}.{key}", label(key, {}), {})
                extra.value = given[key]
                field.children.append(extra)
                value[key] = given[key]
                continue
            child = self._build(
                properties[key],
                f"{name}.{key}",
                key,
                child_pointer(pointer, "properties", key),
                given.get(key, MISSING),
                required=key in required,
            )
            field.children.append(child)
            if child.value is not MISSING:
                value[key] = child.value
        field.value = value if (value or original is not MISSING or row is not None) else MISSING
        return field

    def _array(self, schema, name, text, pointer, original, common, row):
        field = Field("array", name, text, schema, **common)
        given = original if isinstance(original, list) else []
        rows = _int(self.data.get(f"{name}.__rows"), len(given)) if self._present(f"{name}.__rows") else len(given)
        items = schema.get("items", {})
        values = []
        for index in range(rows):
            child = self._build(
                items,
                f"{name}.{index}",
                _singular(text),
                child_pointer(pointer, "items"),
                given[index] if index < len(given) else MISSING,
                row=index,
            )
            field.children.append(child)
            if child.value is not MISSING:
                values.append(child.value)
        field.raw = str(rows)
        field.item_label = _singular(text)
        field.value = values if (rows or original is not MISSING or row is not None) else MISSING
        return field

    def _choice(self, schema, name, text, pointer, original, options, common):
        field = Field("choice", name, text, schema, **common)
        resolved = [resolve(option, self.root)[0] for option in options]
        field.options = [(str(i), variant_label(option, self.root)) for i, option in enumerate(options)]
        if self._present(f"{name}.__variant"):
            chosen = _int(self.data[f"{name}.__variant"], 0)
        elif original is not MISSING:
            chosen = next((i for i, option in enumerate(options) if matches(original, option, self.root)), -1)
        else:
            chosen = next((i for i, option in enumerate(resolved) if option.get("type") != "null"), 0)
        if not 0 <= chosen < len(options):  # a value no variant takes: edited as JSON
            return self._scalar({}, name, text, original, common, None, kind="json")
        field.chosen = str(chosen)
        variant = options[chosen]
        key = name.rsplit(".", 1)[-1]
        child = self._build(variant, name, key, child_pointer(pointer, "anyOf", chosen), original)
        child.label = ""  # the fieldset's legend names it
        field.children.append(child)
        field.value = child.value
        return field

    def _scalar(self, schema, name, text, original, common, row, kind=None):
        """A text input, a text area, a select or a JSON text area, and the value read from it."""
        kinds = schema.get("type")
        in_row = row is not None
        if kind is None:
            if "enum" in schema or "const" in schema or kinds == "boolean":
                kind = "select"
            elif kinds == "null":
                kind = "null"
            elif kinds in ("string", "integer", "number"):
                kind = "input"
            else:
                kind = "json"
        field = Field(kind, name, text, schema, **common)
        present = self._present(name)
        if kind == "null":
            field.value = None
            return field
        if kind == "select":
            choices = schema["enum"] if "enum" in schema else [schema["const"]] if "const" in schema else [True, False]
            field.options = [(json.dumps(choice), _choice_text(choice)) for choice in choices]
            if original is MISSING:
                field.options.insert(0, ("", "—"))
        field.raw = self.data[name] if present else ("" if original is MISSING else _as_text(original, kind, kinds))
        if kind == "input":
            long = "\n" in field.raw or len(field.raw) > 80 or schema.get("maxLength", 0) > LONG_TEXT
            if kinds == "string" and long:
                field.kind = "textarea"
            field.input_type = {"integer": "number", "number": "number"}.get(kinds) or INPUT_TYPES.get(
                schema.get("format"), "text"
            )
            if field.input_type == "number":
                field.step = "1" if kinds == "integer" else "any"
            if schema.get("format") in TYPED_FORMATS and kinds == "string":
                field.placeholder, hint = TYPED_FORMATS[schema["format"]]
                field.help_text = f"{field.help_text} {hint}".strip()
        if "default" in schema:
            field.placeholder = plain_text(schema["default"])
        if not present:
            field.value = original
            return field
        field.value = self._parse(field, kinds, original, in_row)
        return field

    def _parse(self, field, kinds, original, in_row):
        raw = field.raw.replace("\r\n", "\n")
        if kinds == "string" and field.kind in ("input", "textarea"):
            if raw == "" and original is MISSING and not in_row:
                return MISSING  # left blank and never proposed: not an edit
            return raw
        if raw.strip() == "":
            if in_row:
                field.errors.append("Fill this in, or remove the row.")
            return MISSING
        if field.kind == "select":
            if raw not in dict(field.options):
                field.errors.append("Choose one of the options.")
                return MISSING
            return json.loads(raw)
        if field.kind == "json":
            try:
                return json.loads(raw)
            except ValueError as error:
                field.errors.append(f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}).")
                return MISSING
        if kinds == "integer":
            if re.fullmatch(r"\s*-?\d+\s*", raw):
                return int(raw)
            field.errors.append("Enter a whole number, like 42.")
            return MISSING
        if kinds == "number":
            try:
                number = int(raw) if re.fullmatch(r"\s*-?\d+\s*", raw) else float(raw)
            except ValueError:
                number = math.nan
            if isinstance(number, float) and not math.isfinite(number):
                field.errors.append("Enter a number, like 4.5.")
                return MISSING
            return number
        return raw

    # The form's answer.

    def final_params(self):
        final = dict(self.action.params)
        for field in self.fields:
            if field.value is MISSING:
                final.pop(field.name, None)
            else:
                final[field.name] = field.value
        return final

    def full_clean(self):
        if self._cleaned:
            return
        self._cleaned = True
        if not self.is_bound or self.op or self.field_errors():
            return  # a row added or removed is not checked yet; a field that could not be read says why
        try:
            self.action.check_edit(self.final_params())
        except InvalidEdit as invalid:
            for error in invalid.errors:
                self._place(error["path"], error["message"])

    def _place(self, path, message):
        """At the deepest field the error concerns that the form shows, else above the form."""
        parts = path.split(".") if path and path != "(root)" else []
        while parts:
            field = self.by_name.get(".".join(parts))
            if field is not None and field.kind != "readonly":
                field.errors.append(message)
                return
            parts.pop()
        self.non_field_errors.append(f"{path}: {message}" if path and path != "(root)" else message)

    def field_errors(self):
        return {name: field.errors for name, field in self.by_name.items() if field.errors}

    @property
    def errors(self):
        self.full_clean()
        errors = self.field_errors()
        if self.non_field_errors:
            errors["__all__"] = self.non_field_errors
        return errors

    def is_valid(self):
        return self.is_bound and not self.op and not self.errors


def _int(text, fallback):
    try:
        return int(text)
    except (TypeError, ValueError):
        return fallback


def _singular(text):
    return text[:-1] if text.endswith("s") and not text.endswith("ss") else text


def _choice_text(choice):
    if isinstance(choice, bool):
        return "yes" if choice else "no"
    return "empty (null)" if choice is None else str(choice)


def _as_text(value, kind, kinds):
    """What an input shows for a proposed value, read back to the same value."""
    if kind == "select":
        return json.dumps(value)
    if kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return json.dumps(value)
    if kinds == "integer" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


class RejectForm(forms.Form):
    """A reason is required: the agent and the auditors read it. A common one, free text, or both."""

    COMMON_REASONS = [
        "Wrong parameters",
        "Not what the user asked for",
        "Too risky without more context",
        "Duplicate of another action",
        "Against policy",
    ]

    common = forms.ChoiceField(
        label="Reason", required=False, choices=[("", "Choose a reason…")] + [(r, r) for r in COMMON_REASONS]
    )
    reason = forms.CharField(label="Details", required=False, max_length=2000)
    # One of the agent's own reject options (HumanLayer's `reject_options`), by name.
    option = forms.CharField(label="The agent's reason", required=False, max_length=200)

    def __init__(self, *args, action=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.agent_options = {o["name"]: o["label"] for o in action.reject_options} if action else {}

    @cached_property
    def common_options(self):
        """The common reasons as <option>s, rendered once for every card of a page."""
        return format_html_join("", '<option value="{}">{}</option>', self.fields["common"].choices)

    def clean(self):
        cleaned = super().clean()
        option = cleaned.get("option") or ""
        if option and option not in self.agent_options:
            raise forms.ValidationError(f"The agent offered no reason named “{option}”.")
        parts = [cleaned.get("common", ""), (cleaned.get("reason") or "").strip()]
        # The reviewer's own words go back verbatim; a bare choice of the agent's option, its label.
        cleaned["text"] = ": ".join(part for part in parts if part) or self.agent_options.get(option, "")
        if not cleaned["text"]:
            raise forms.ValidationError("Say why you reject it: the agent and the auditors read the reason.")
        return cleaned


class AllowSimilarForm(forms.Form):
    """The scope of a standing approval made from an approved action: per parameter, whether it
    must be this exact value, at most this value (numbers), or may be anything; for how long;
    how many times. The default scope can apply again: a value picked from a fixed list (an enum,
    a yes/no) must match, a number may be up to this one, and what names one thing (a ticket, a
    customer, free text) may vary, since an exact id would never match twice (#32)."""

    MATCH_CHOICES = [("equals", "must be exactly this"), ("any", "may be anything")]
    NUMBER_CHOICES = [("max", "may be up to this"), ("equals", "must be exactly this"), ("any", "may be anything")]

    hours = forms.IntegerField(
        label="For how many hours", min_value=1, max_value=30 * 24, initial=1, help_text="At most 30 days (720 h)."
    )
    max_uses = forms.IntegerField(label="At most how many actions", min_value=1, max_value=1000, initial=10)

    def __init__(self, action, *args, **kwargs):
        self.action = action
        super().__init__(*args, auto_id=f"similar-{action.pk}-%s", **kwargs)
        self.params = action.final_params or action.params
        self.rows = []
        for param in action.humanized_params(self.params):
            value = param.value
            number = isinstance(value, int | float) and not isinstance(value, bool)
            name = f"match_{param.name}"
            self.fields[name] = forms.ChoiceField(
                label=param.label,
                choices=self.NUMBER_CHOICES if number else self.MATCH_CHOICES,
                initial="max" if number else "equals" if _from_a_fixed_list(value, param.schema) else "any",
            )
            self.rows.append((param, self[name]))

    def initial_constraints(self):
        """The constraints of the default scope, before the reviewer changed anything."""
        return {
            name: {self.fields[f"match_{name}"].initial: value}
            for name, value in self.params.items()
            if self.fields[f"match_{name}"].initial in ("equals", "max")
        }

    def constraints(self):
        """{"amount": {"max": 500}, "currency": {"equals": "USD"}} from the choices made."""
        chosen = {}
        for name, value in self.params.items():
            how = self.cleaned_data.get(f"match_{name}")
            if how in ("equals", "max"):
                chosen[name] = {how: value}
        return chosen


def _from_a_fixed_list(value, schema):
    """Whether `value` is one of a few choices its schema fixes (what "similar" is made of)."""
    if isinstance(value, bool) or "enum" in schema or "const" in schema:
        return True
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    return isinstance(value, list) and ("enum" in items or "const" in items)
