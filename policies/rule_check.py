"""Whether a rule can evaluate, checked when it is saved: every name it reads must exist, and a
syntax error is told in one line a person reads, not as the parser's output.

A rule naming what no proposal has (`parms.amount > 50`) fails to evaluate on every proposal, and a
rule that fails asks for a person (PRODUCT.md): saved, it would silently send everything of its
type to a person (#32). The CEL library gives the top-level names a rule reads; the fields read
under `params`, `agent` and `session` are found here in the text, its string literals left out.
"""

import difflib
import re

from policies.rules import RULE_VARIABLES, compile_expression

# What `rule_variables` gives under these names; `params` is the type's JSON Schema's, and
# `context` is whatever the agent sends, so it cannot be checked.
FIELDS = {"agent": ("name",), "session": ("id", "on_behalf_of")}
# CEL's macros bind a name of their own: `params.items.exists(i, i.price > 3)`.
MACRO_BINDING = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
STRINGS = re.compile(r"""'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*\"""", re.S)
# `params.a.b`, `params["a"]`, `params.a["b"]`: the first name and what follows it.
STEP_TEXT = r"""\s*\.\s*[A-Za-z_]\w*|\s*\[\s*\d+\s*\]|\s*\[\s*@S\d+@\s*\]"""
PATH = re.compile(rf"""(?<![\w.])(params|agent|session)((?:{STEP_TEXT})*)""")
STEP = re.compile(r"""\.\s*([A-Za-z_]\w*)|\[\s*(\d+)\s*\]|\[\s*@S(\d+)@\s*\]""")
METHODS = {"size", "startsWith", "endsWith", "contains", "matches", "all", "exists", "exists_one", "map", "filter"}


def problems(expression, params_schema=None):
    """What keeps `expression` from evaluating, each in one line; [] when it can."""
    try:
        program = compile_expression(expression)
    except ValueError as error:
        return [plain_syntax_error(str(error))]
    bound = set(MACRO_BINDING.findall(_without_strings(expression)[0]))
    found = []
    for name in program.variables():
        if name not in RULE_VARIABLES and name not in bound:
            found.append(f"“{name}” is not something a rule can read{_did_you_mean(name, RULE_VARIABLES)}. " + _HELP)
    return found + _unknown_fields(expression, params_schema if isinstance(params_schema, dict) else {})


_HELP = "A rule reads params, context, untrusted, confidence, agent (name) and session (id, on_behalf_of)."


def _did_you_mean(name, choices):
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean “{close[0]}”?)" if close else ""


def _without_strings(expression):
    """The expression with each string literal replaced by a placeholder, and the literals' values."""
    literals = []

    def keep(match):
        literals.append(match.group(0)[1:-1] if not match.group(0).startswith(("'''", '"""')) else match.group(0)[3:-3])
        return f"@S{len(literals) - 1}@"

    return STRINGS.sub(keep, expression), literals


def _unknown_fields(expression, schema):
    text, literals = _without_strings(expression)
    found = []
    for match in PATH.finditer(text):
        root, rest = match.group(1), match.group(2)
        steps = []
        for step in STEP.finditer(rest):
            name, index, literal = step.groups()
            steps.append(name if name is not None else int(index) if index is not None else literals[int(literal)])
        # A method call (`params.to.size()`) is not a field: stop at the name before "(".
        following = text[match.end() :].lstrip()
        if steps and following.startswith("(") and isinstance(steps[-1], str) and steps[-1] in METHODS:
            steps.pop()
        if root == "params":
            problem = _params_problem(steps, schema)
        elif steps and isinstance(steps[0], str) and steps[0] not in FIELDS[root]:
            known = ", ".join(FIELDS[root])
            problem = f"{root} has no “{steps[0]}”{_did_you_mean(steps[0], FIELDS[root])}: it has {known}."
        else:
            problem = None
        if problem and problem not in found:
            found.append(problem)
    return found


def _params_problem(steps, schema):
    """The first name along `steps` that the parameters' JSON Schema says cannot be there."""
    path = "params"
    for step in steps:
        if isinstance(step, int):
            schema = schema.get("items") if isinstance(schema.get("items"), dict) else {}
            path += f"[{step}]"
            continue
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            return None  # a schema that names no fields here: anything may be there
        if step not in properties:
            names = ", ".join(sorted(properties))
            return (
                f"{path} has no parameter “{step}”{_did_you_mean(step, properties)}: "
                f"this type's parameters{'' if path == 'params' else ' there'} are {names}."
            )
        schema = properties[step] if isinstance(properties[step], dict) else {}
        path += f".{step}"
    return None


# The parser's messages, as "…: ERROR: <input>:1:16: Syntax error: mismatched input '<EOF>' …".
PARSER_ERROR = re.compile(r"<input>:(\d+):(\d+): (?:Syntax error: )?([^\n]*)")
WORDS = {"and": "&&", "or": "||", "not": "!"}


def plain_syntax_error(message):
    """The first of the parser's errors as one plain line: where, and what is wrong."""
    match = PARSER_ERROR.search(message)
    if not match:
        return "Not a rule CEL can read: " + message.split("\n")[0]
    line, column, detail = int(match.group(1)), int(match.group(2)), match.group(3)
    where = f"at column {column}" if line == 1 else f"at line {line}, column {column}"
    token = re.search(r"(?:input|at:?) '(.*?)'(?: expecting|$| at)", detail)
    token = token.group(1).strip() if token else ""
    if token in WORDS:
        what = f"“{token}” is not CEL: write {WORDS[token]}"
    elif token.startswith("="):
        what = "to compare, write == (a single = is not CEL)"
    elif "<EOF>" in detail and detail.startswith(("mismatched", "missing")):
        closing = re.search(r"missing '(.)'", detail)
        what = f"a closing “{closing.group(1)}” is missing" if closing else "the rule ends before it is complete"
    elif detail.startswith("token recognition error"):
        what = f"“{token[:1] or '?'}” is not something CEL reads (an unclosed quote, or a stray character)"
    elif token:
        what = f"“{token}” is not expected there"
    else:
        what = detail.split(" expecting ")[0]
    return f"Not a rule CEL can read: {what} ({where})."
