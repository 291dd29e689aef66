"""CEL rules: compiled once per expression and evaluated over one proposal's variables.

An expression is compiled the first time it is seen in a process; editing a rule changes its
text, so the next proposal compiles the new version and the old one simply stops being used.
"""

from functools import lru_cache

import cel

# The names a rule may use; `evaluate_rule` binds all of them for every proposal.
RULE_VARIABLES = ("params", "context", "untrusted", "confidence", "agent", "session")


@lru_cache(maxsize=4096)
def compile_expression(expression):
    """The compiled program; ValueError with the parser's message when it does not compile."""
    if not expression.strip():
        raise ValueError("the expression is empty")
    return cel.compile(expression)


def rule_variables(*, params, context, confidence, agent_name, session_id, on_behalf_of):
    """One proposal's variables, built once and shared by all its rules; ValueError when a value
    cannot be given to CEL (an integer past its 64 bits, say)."""
    context = context or {}
    untrusted = context.get("untrusted") if isinstance(context.get("untrusted"), list) else []
    try:
        return _context(params, context, untrusted, confidence, agent_name, session_id, on_behalf_of)
    except Exception as error:  # the library raises OverflowError, TypeError, RuntimeError, …
        raise ValueError(f"the proposal holds a value CEL cannot represent ({str(error).split('. ')[0]})") from None


def _context(params, context, untrusted, confidence, agent_name, session_id, on_behalf_of):
    return cel.Context(
        {
            "params": params,
            "context": context,
            "untrusted": [str(path) for path in untrusted],
            "confidence": confidence,
            "agent": {"name": agent_name},
            "session": {"id": session_id, "on_behalf_of": on_behalf_of},
        }
    )


def evaluate_rule(expression, variables):
    """True or False; raises ValueError with a readable message when it cannot be evaluated."""
    try:
        result = compile_expression(expression).execute(variables)
    except KeyError as error:
        raise ValueError(f"no such field: {error.args[0]}") from None
    except Exception as error:  # the library raises TypeError, ZeroDivisionError, RuntimeError, …
        raise ValueError(str(error).split(". ")[0]) from None
    if not isinstance(result, bool):
        raise ValueError(f"the expression gave {result!r}, not true or false")
    return result
