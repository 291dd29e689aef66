"""The `mcp_servers` section of the policies document (`manage.py policies export|import`).

```yaml
mcp_servers:
  git:
    command: mcp-server-git
    args: [--repository, /srv/repo]
    env_from: {GITHUB_TOKEN: COUNTERSIGN_GITHUB_TOKEN}  # read from Countersign's environment on import
    timeout: 30
  search:
    url: https://mcp.example.com/mcp
    headers_from: {Authorization: SEARCH_MCP_AUTHORIZATION}
```

Env and header values are secrets: the export shows a fingerprint for each, and an import keeps
the current value while the document still shows its fingerprint, takes a value written in clear,
or reads one from the environment variable `env_from` / `headers_from` names. A URL with a query
string is shown and re-read the same way (`url_env`). Servers the document does not name are left
alone.
"""

import os

from gateway.models import Upstream, secret_fingerprint, url_shown
from policies.document import Section, clean_errors

SERVER_KEYS = {
    "description", "command", "args", "env", "env_from", "cwd", "url", "url_env", "headers", "headers_from",
    "timeout", "enabled",
}  # fmt: skip
SECRET_MARK = "(secret, fingerprint "


def export():
    return {upstream.name: upstream.as_policy() for upstream in Upstream.objects.order_by("name")}


def plan(servers):
    if not isinstance(servers, dict):
        return [], ["mcp_servers: a mapping of server names to a command or a URL"]
    planned, errors = [], []
    for name, spec in servers.items():
        errors += plan_server(f"mcp_servers.{name}", str(name), spec, planned)
    return planned, errors


def plan_server(path, name, spec, planned):
    if not isinstance(spec, dict):
        return [f"{path}: a mapping with a command (stdio) or a url (streamable HTTP)"]
    errors = [f"{path}.{key}: unknown field" for key in sorted(set(spec) - SERVER_KEYS)]
    upstream = Upstream.objects.filter(name=name).first() or Upstream(name=name)
    before = upstream.as_policy() if upstream.pk else {}
    stdio, http = "command" in spec, "url" in spec or "url_env" in spec
    if stdio == http:
        return [*errors, f"{path}: either a command (stdio) or a url (streamable HTTP)"]
    current_env, current_url, current_headers = upstream.env, upstream.url, upstream.headers
    upstream.command, upstream.args, upstream.env, upstream.cwd = "", [], {}, ""
    upstream.url, upstream.headers = "", {}
    upstream.transport = Upstream.Transport.STDIO if stdio else Upstream.Transport.HTTP
    upstream.description = spec.get("description") or ""
    upstream.timeout = spec.get("timeout", 30.0)
    upstream.enabled = spec.get("enabled", True)
    if stdio:
        upstream.command = spec["command"] or ""
        upstream.args = spec.get("args") or []
        upstream.cwd = spec.get("cwd") or ""
        upstream.env, secret_errors = plan_secrets(f"{path}.env", spec, "env", current_env)
    else:
        upstream.url, secret_errors = plan_url(path, spec, current_url)
        upstream.headers, header_errors = plan_secrets(f"{path}.headers", spec, "headers", current_headers)
        secret_errors += header_errors
    errors += secret_errors
    errors += clean_errors(path, upstream, exclude=["name"] if upstream.pk else None, validate_unique=False)
    planned.append((upstream, before))
    return errors


def plan_secrets(path, spec, field, current):
    """The env or headers mapping the document describes, from clear values, the current values
    whose fingerprints it shows, and environment variables `<field>_from` names."""
    shown, from_env = spec.get(field) or {}, spec.get(f"{field}_from") or {}
    if not isinstance(shown, dict) or not isinstance(from_env, dict):
        return {}, [f"{path}: a mapping of names to values"]
    errors, values = [], {}
    for name, value in shown.items():
        if name in from_env:
            errors.append(f"{path}.{name}: set in {field} and in {field}_from; keep one")
        elif not isinstance(value, str):
            errors.append(f"{path}.{name}: a text value")
        elif value.startswith(SECRET_MARK):
            if name in current and secret_fingerprint(current[name]) == value:
                values[name] = current[name]
            else:
                errors.append(
                    f"{path}.{name}: not the current value's fingerprint; a secret is never exported, so name an "
                    f"environment variable that holds it with {field}_from"
                )
        else:
            values[name] = value
    for name, variable in from_env.items():
        value = os.environ.get(str(variable))
        if value is None:
            errors.append(f"{path}_from.{name}: the environment variable {variable} is unset")
        else:
            values[name] = value
    return values, errors


def plan_url(path, spec, current):
    if "url_env" in spec:
        url = os.environ.get(str(spec["url_env"]))
        if url is None:
            return "", [f"{path}.url_env: the environment variable {spec['url_env']} is unset"]
        return url, []
    url = spec.get("url") or ""
    if SECRET_MARK not in url:
        return url, []
    if current and url_shown(current) == url:
        return current, []
    return "", [
        f"{path}.url: not this server's current URL; a URL with a query string is never exported, so name an "
        "environment variable that holds it with url_env"
    ]


def apply(planned):
    changes = []
    for upstream, before in planned:
        upstream.save()
        event = upstream.record_change(by=None, before=before, what="imported" if before else "created by import")
        if event is not None:
            changes.append((f"MCP server {upstream.name}", event.data["diff"]))
    return changes


SECTION = Section(name="mcp_servers", export=export, plan=plan, apply=apply)
