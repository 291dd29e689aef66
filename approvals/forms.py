"""The edit-before-approve form: one field per editable parameter, built from the JSON Schema."""

from django import forms
from django.utils.functional import cached_property
from django.utils.html import format_html_join

from approvals.models import InvalidEdit

LONG_TEXT = 200  # characters past which a string gets a text area


class ParamsForm(forms.Form):
    """Fields named after the parameters; `final_params()` merges them over the proposal.

    Field-level parsing (a number that is not a number) happens here; the action type's JSON
    Schema then has the last word, its errors placed beside the field they concern.
    """

    def __init__(self, action, *args, **kwargs):
        self.action = action
        super().__init__(*args, auto_id=f"param-{action.pk}-%s", label_suffix="", **kwargs)
        properties = action.action_type.params_schema.get("properties", {})
        for name in action.action_type.editable_params:
            schema = properties.get(name, {})
            field = field_for(schema, name)
            self.fields[name] = field
            if name in action.params:
                self.initial[name] = action.params[name]

    def clean(self):
        cleaned = super().clean()
        failed = set(self.errors)
        try:
            self.action.check_edit(self.final_params())
        except InvalidEdit as invalid:
            for error in invalid.errors:
                name = error["path"].split(".")[0]
                if name not in failed:  # a field that could not be read already says why
                    self.add_error(name if name in self.fields else None, error["message"])
        return cleaned

    def final_params(self):
        final = dict(self.action.params)
        for name in self.fields:
            value = self.cleaned_data.get(name)
            empty = value is None or value is False or value == "" or value == []
            if empty and name not in self.action.params:
                continue  # left blank and never proposed: not an edit
            if value is None:
                final.pop(name, None)
            else:
                final[name] = value
        return final

    def changed_params(self):
        return [name for name in self.fields if self.final_params().get(name) != self.action.params.get(name)]


def field_for(schema, name):
    """A form field for one JSON Schema property: what a person can type for that type."""
    from policies.summary import param_label

    label = param_label(name, schema)
    help_text = schema.get("description", "") if schema.get("title") else ""
    common = {"label": label, "help_text": help_text, "required": False}
    kind = schema.get("type")
    if "enum" in schema:
        return forms.TypedChoiceField(choices=[(v, v) for v in schema["enum"]], coerce=_enum_coerce(schema), **common)
    if kind == "boolean":
        return forms.BooleanField(**common)
    if kind == "integer":
        return forms.IntegerField(min_value=schema.get("minimum"), max_value=schema.get("maximum"), **common)
    if kind == "number":
        return NumberField(**common)
    if kind == "string" and schema.get("format") == "date":
        return DateStringField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == "string":
        long = schema.get("maxLength", LONG_TEXT + 1) > LONG_TEXT
        return forms.CharField(
            widget=forms.Textarea(attrs={"rows": 4}) if long else forms.TextInput(),
            strip=False,
            **common,
        )
    if kind == "array" and schema.get("items", {}).get("type") == "string":
        return StringListField(widget=forms.Textarea(attrs={"rows": 3}), **{**common, "help_text": "One per line."})
    return JsonValueField(widget=forms.Textarea(attrs={"rows": 4, "class": "json"}), **common)


class NumberField(forms.DecimalField):
    """A JSON number: kept an int when it is whole, so 500 stays 500 and not 500.0."""

    def clean(self, value):
        number = super().clean(value)
        if number is None:
            return None
        return int(number) if number == number.to_integral_value() else float(number)


class DateStringField(forms.DateField):
    def to_python(self, value):
        parsed = super().to_python(value)
        return parsed.isoformat() if parsed else None


class StringListField(forms.CharField):
    def to_python(self, value):
        return [line.strip() for line in (value or "").splitlines() if line.strip()]

    def prepare_value(self, value):
        return "\n".join(str(item) for item in value) if isinstance(value, list) else value


class JsonValueField(forms.JSONField):
    """Anything the other fields cannot express (objects, arrays of numbers), edited as JSON."""


def _enum_coerce(schema):
    types = {type(v) for v in schema["enum"]}

    def coerce(value):
        for choice in schema["enum"]:
            if str(choice) == value:
                return choice
        return value

    return coerce if types != {str} else str


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
    """The scope of a standing approval made from an approved action: per parameter, any value,
    this exact value, or (for numbers) at most this value; for how long; how many times."""

    MATCH_CHOICES = [("equals", "exactly this value"), ("any", "any value")]
    NUMBER_CHOICES = [("equals", "exactly this value"), ("max", "at most this value"), ("any", "any value")]

    hours = forms.IntegerField(
        label="For how many hours", min_value=1, max_value=30 * 24, initial=1, help_text="At most 30 days."
    )
    max_uses = forms.IntegerField(label="At most how many actions", min_value=1, max_value=1000, initial=10)

    def __init__(self, action, *args, **kwargs):
        self.action = action
        super().__init__(*args, auto_id=f"similar-{action.pk}-%s", **kwargs)
        self.params = action.final_params or action.params
        for name, value in self.params.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            self.fields[f"match_{name}"] = forms.ChoiceField(
                label=name, choices=self.NUMBER_CHOICES if number else self.MATCH_CHOICES, initial="equals"
            )

    def constraints(self):
        """{"amount": {"max": 500}, "currency": {"equals": "USD"}} from the choices made."""
        chosen = {}
        for name, value in self.params.items():
            how = self.cleaned_data.get(f"match_{name}")
            if how in ("equals", "max"):
                chosen[name] = {how: value}
        return chosen
