"""Outcome reports for code written for the discontinued HumanLayer SDK, pointed at Countersign.

    from humanlayer import HumanLayer
    from hitl_client import Client
    from hitl_client.humanlayer import report_outcomes

    hl = HumanLayer(api_base_url="https://countersign.example.com/api/v1/humanlayer", api_key=token)
    reported = report_outcomes(hl, Client("https://countersign.example.com", token))

    @hl.require_approval()
    @reported                      # beneath require_approval: it wraps the function the SDK runs
    def send_email(to, subject, body): ...

The SDK runs an approved function itself and has no call to report what it did, so its actions
stayed `approved`. `report_outcomes` makes the SDK's call ids visible (it wraps the `genid` the
SDK draws them from, per thread or task) and the decorator reports each run of the function —
its return value, or the exception it raised, which it re-raises — in the background, to
Countersign's `POST /api/v1/humanlayer/agent/function_calls/{call_id}/result`. The action then
ends `executed` or `failed`, as with every other adapter. Sync and `async def` functions both work
(`AsyncHumanLayer` too).
"""

import contextvars
import functools
import inspect

from hitl_client.outcomes import error_of, outcomes_for, output_of


def report_outcomes(hl, client):
    """A decorator reporting what `hl`'s approved functions did, through `client` (a `Client`)."""
    current = contextvars.ContextVar("countersign_humanlayer_call", default=None)
    draw = hl.genid

    def genid(prefix):
        value = draw(prefix)
        if prefix == "call":  # the id of the function call the SDK is about to ask approval for
            current.set(value)
        return value

    hl.genid = genid
    sender = outcomes_for(client)

    def send(call_id, **outcome):
        if call_id is not None:  # the function ran outside the SDK's approval: nothing to report on
            sender.report_to(f"/humanlayer/agent/function_calls/{call_id}/result", **outcome)

    def taken():
        call_id = current.get()
        current.set(None)  # one approval, one report: a later direct call must not reuse it
        return call_id

    def reported(fn):
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args, **kwargs):
                call_id = taken()
                try:
                    result = await fn(*args, **kwargs)
                except Exception as exc:
                    send(call_id, succeeded=False, error=error_of(exc))
                    raise
                send(call_id, succeeded=True, output=output_of(result))
                return result

            return run_async

        @functools.wraps(fn)
        def run(*args, **kwargs):
            call_id = taken()
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                send(call_id, succeeded=False, error=error_of(exc))
                raise
            send(call_id, succeeded=True, output=output_of(result))
            return result

        return run

    return reported
