"""`@gate("email.send")`: ask Countersign before a tool function runs, then run it as approved.

    @gate("email.send", client=client)
    def send_email(to, subject, body): ...

The call proposes its arguments by name (those gathered by `**kwargs` each under its own name),
waits for the decision, runs the function with the final (possibly edited) parameters, and
reports the outcome. A success is reported inline, so that an output the type's policy has a person
read first is waited for (the function returns what they released); an exception, and a report
Countersign cannot take yet, go to the background sender (`hitl_client.outcomes`), which retries
without holding up or failing the call.
`*args` has no names, so it is refused.
A rejection raises `Rejected`; a suggest-level type returns `Suggested` without running.
"""

import functools
import inspect
from dataclasses import dataclass

from hitl_client.client import AsyncClient, Client, under_review
from hitl_client.errors import ApiError, ServerUnavailable
from hitl_client.outcomes import error_of, outcomes_for, output_of


@dataclass
class Suggested:
    """The action type is suggest-only: recorded for a person to execute or dismiss; the agent must not run it."""

    action: dict

    @property
    def review_url(self):
        return self.action["review_url"]


def _check_nameable(func, signature):
    """Refuse at decoration time a parameter whose values have no names to propose or to edit."""
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            raise TypeError(
                f"@gate cannot name the values of *{parameter.name} in {func.__name__}{signature}: "
                "Countersign proposes parameters by name, so give them names (or take **kwargs)."
            )


def _arguments(signature, args, kwargs):
    """(bound instance or None, the call's arguments by name); a method's `self`/`cls` is not a parameter, and
    the keywords gathered by `**kwargs` are parameters in their own right, not one parameter named "kwargs"."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = {}
    for name, value in bound.arguments.items():
        if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(value)
        else:
            arguments[name] = value
    first = next(iter(signature.parameters), None)
    owner = arguments.pop(first) if first in ("self", "cls") else None
    return owner, arguments


def _call_arguments(signature, params):
    """(positional, keyword) arguments that call the function with `params`: positional-only parameters
    cannot be passed by name."""
    params = dict(params)
    positional = []
    for name, parameter in signature.parameters.items():
        if parameter.kind is not inspect.Parameter.POSITIONAL_ONLY or name in ("self", "cls"):
            continue
        if name not in params:
            break
        positional.append(params.pop(name))
    return positional, params


def _released(action, result):
    """The output a person released (maybe redacted), in the shape the function returned it."""
    output = (action.get("outcome") or {}).get("output")
    return output if isinstance(result, dict) or not isinstance(output, dict) else output.get("result")


def gate(action, *, client=None, wait_timeout=3600.0, verify=None, **fields):
    """Gate a sync or async function behind the `action` type.

    `client`: a `Client` for a sync function, an `AsyncClient` for an async one (default: built from
    COUNTERSIGN_URL / COUNTERSIGN_TOKEN / COUNTERSIGN_RECEIPT_SECRET on first call). `wait_timeout`:
    how long to wait for a person before `StillPending`. `verify`: check the approval receipt before
    running (default: whenever the client has a receipt secret). `fields`: proposal fields sent with
    every call (rationale, model, prompt_version…); a call may also pass `_countersign={...}` to add
    per-call fields such as `session_id` or `confidence`.
    """

    def decorate(func):
        signature = inspect.signature(func)
        _check_nameable(func, signature)
        is_async = inspect.iscoroutinefunction(func)

        def prepare(args, kwargs):
            per_call = kwargs.pop("_countersign", None) or {}
            owner, params = _arguments(signature, args, kwargs)
            bound = func if owner is None else functools.partial(func, owner)

            def call(final_params):
                positional, keywords = _call_arguments(signature, final_params)
                return bound(*positional, **keywords)

            return call, params, {**fields, **per_call}

        def should_verify(connected):
            return bool(connected.receipt_secret) if verify is None else verify

        if is_async:

            @functools.wraps(func)
            async def async_gated(*args, **kwargs):
                call, params, call_fields = prepare(args, kwargs)
                connected = client or async_gated.default_client()
                proposed = await connected.propose(action, params, **call_fields)
                if proposed["status"] == "suggested":
                    return Suggested(proposed)
                approved = proposed
                if proposed["status"] == "pending":
                    approved = await connected.wait(proposed["id"], timeout=wait_timeout)
                if should_verify(connected):
                    connected.verify(approved)
                try:
                    result = await call(approved["final_params"])
                except Exception as exc:
                    outcomes_for(connected).report(approved["id"], succeeded=False, error=error_of(exc))
                    raise
                try:  # inline, so that an output a person must read first is waited for
                    reported = await connected.report(approved["id"], succeeded=True, output=output_of(result))
                except (ApiError, ServerUnavailable):  # never fails the run: the background sender retries
                    outcomes_for(connected).report(approved["id"], succeeded=True, output=output_of(result))
                    return result
                if under_review(reported):  # a person reads the output first: return what they released
                    return _released(await connected.wait(approved["id"], timeout=wait_timeout), result)
                return result

            async_gated.default_client = functools.cache(AsyncClient.from_env)
            return async_gated

        @functools.wraps(func)
        def gated(*args, **kwargs):
            call, params, call_fields = prepare(args, kwargs)
            connected = client or gated.default_client()
            proposed = connected.propose(action, params, **call_fields)
            if proposed["status"] == "suggested":
                return Suggested(proposed)
            approved = proposed
            if proposed["status"] == "pending":
                approved = connected.wait(proposed["id"], timeout=wait_timeout)
            if should_verify(connected):
                connected.verify(approved)
            try:
                result = call(approved["final_params"])
            except Exception as exc:
                outcomes_for(connected).report(approved["id"], succeeded=False, error=error_of(exc))
                raise
            try:  # inline, so that an output a person must read first is waited for
                reported = connected.report(approved["id"], succeeded=True, output=output_of(result))
            except (ApiError, ServerUnavailable):  # never fails the run: the background sender retries
                outcomes_for(connected).report(approved["id"], succeeded=True, output=output_of(result))
                return result
            if under_review(reported):  # a person reads the output first: return what they released
                return _released(connected.wait(approved["id"], timeout=wait_timeout), result)
            return result

        gated.default_client = functools.cache(Client.from_env)
        return gated

    return decorate
