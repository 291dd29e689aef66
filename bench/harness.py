"""The harness: the table of figures, and the run that measures them and judges each against
its target.

Every figure is one row of `FIGURES`: its name, the module under `bench/` that measures it, how,
what it stands beside (its baseline), its unit and its target. A figure module has one entry
point, `measure(stack) -> {figure name: Reading}`, called once per run with the running
`bench.stack.Stack` (its `scale`, its `actors`, its `web_url`). A module that does not exist yet
is skipped with a note, so the table can name every figure the issues ask for before each one
is written.
"""

import math
import operator
import re
from dataclasses import dataclass, field

OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass(frozen=True)
class Target:
    """`value < 150`, `ratio >= 0.25` when the figure is judged beside its baseline, or
    `value <= 2 × baseline + 10` (`on="ratio", plus=10`) when a fixed cost is allowed on top."""

    op: str
    limit: float
    on: str = "value"  # or "ratio"
    plus: float = 0  # with on="ratio": the allowance added to limit × baseline

    def met(self, value, baseline):
        if value is None:
            return False
        if self.on == "value":
            return OPERATORS[self.op](value, self.limit)
        if not baseline:
            return False
        if self.plus:
            return OPERATORS[self.op](value, self.limit * baseline + self.plus)
        return OPERATORS[self.op](value / baseline, self.limit)

    def __str__(self):
        if self.plus:
            return f"{self.op} {self.limit:g}× baseline + {self.plus:g}"
        return f"{'ratio ' if self.on == 'ratio' else ''}{self.op} {self.limit:g}"


@dataclass(frozen=True)
class Figure:
    name: str
    module: str  # bench/<module>.py measures it
    how: str
    baseline: str  # what the figure stands beside ("" when nothing)
    unit: str
    target: Target | None


@dataclass
class Reading:
    """What a module measured for one figure."""

    value: float
    baseline: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Scale:
    name: str
    pending: int  # pending actions in the inbox
    clients: int  # concurrent HTTP clients posting proposals
    seconds: float  # length of each measured load phase
    rounds: int  # load phases per endpoint, alternated with the baseline's
    decisions: int  # decisions whose propagation is timed
    samples: int  # timed requests per page


SCALES = {
    # For the harness's own test: everything once, quickly.
    "tiny": Scale("tiny", pending=50, clients=4, seconds=0.5, rounds=1, decisions=5, samples=3),
    "small": Scale("small", pending=1_000, clients=20, seconds=3, rounds=1, decisions=40, samples=8),
    "full": Scale("full", pending=10_000, clients=20, seconds=15, rounds=2, decisions=200, samples=30),
}

FIGURES = [
    # In process first, so that its pending count is exactly the scale's.
    Figure(
        "inbox first page p95",
        "inbox_page",
        "GET / as a supervisor with the pending actions, rendered by Django in process (real URL, logged in)",
        "an empty inbox, same queries",
        "ms",
        Target("<", 150),
    ),
    Figure(
        "inbox first page queries",
        "inbox_page",
        "SQL queries of that request",
        "queries of an empty inbox",
        "queries",
        Target("<=", 1, on="ratio"),
    ),
    Figure(
        "proposals per second",
        "proposals",
        "concurrent clients posting realistic proposals (auth, idempotency key, routing, schema check, summary, "
        "audit events) to POST /api/v1/actions through gunicorn",
        "bare endpoint in the same gunicorn inserting the same body as one row",
        "req/s",
        Target(">=", 0.5, on="ratio"),
    ),
    Figure(
        "proposal latency p50",
        "proposals",
        "same run",
        "bare endpoint p50, same clients",
        "ms",
        Target("<=", 4, on="ratio"),
    ),
    Figure(
        "proposal latency p95",
        "proposals",
        "same run",
        "bare endpoint p95, same clients",
        "ms",
        Target("<=", 4, on="ratio"),
    ),
    Figure(
        "proposals gain from 1 to 4 clients",
        "proposals",
        "proposals/s at 4 clients ÷ at 1 client, each endpoint alternated (issue 21: no queue of one)",
        "the same ratio for the bare endpoint, same run",
        "×",
        Target(">=", 0.8, on="ratio"),
    ),
    # Issue 30: two web processes, one per core (bench/scale_out.py).
    Figure(
        "proposals per second, two processes",
        "scale_out",
        "the same proposals through gunicorn with HITL_WEB_WORKERS=2",
        "the bare insert through the same two processes",
        "req/s",
        Target(">=", 0.8, on="ratio"),
    ),
    Figure(
        "proposals gain from 1 to 4 clients, two processes",
        "scale_out",
        "proposals/s at 4 clients ÷ at 1 client through the two processes, each endpoint alternated",
        "the same ratio for the bare insert, same run",
        "×",
        Target(">=", 0.8, on="ratio"),
    ),
    Figure(
        "proposals per second, two processes beside one",
        "scale_out",
        "proposals/s with HITL_WEB_WORKERS=2, phases alternated with the same gunicorn at 1",
        "proposals/s with one process, same run",
        "req/s",
        Target(">=", 1.6, on="ratio"),
    ),
    Figure(
        "rolling restart: failed proposals",
        "scale_out",
        "SIGTERM to one of two web processes under 20 clients proposing, gunicorn starting its replacement: "
        "proposals that failed after one client retry, or were not stored exactly once",
        "",
        "proposals",
        Target("<=", 0),
    ),
    Figure(
        "rolling restart: parked agents answered p95",
        "scale_out",
        "agents parked on /wait across that restart (200 small, 1,000 full), approved by batches of 100 once the "
        "replacement started: a batch's answer to each of its agents' /wait answer",
        "",
        "ms",
        Target("<=", 1000),
    ),
    Figure(
        "decision propagation p50",
        "propagation",
        "approve request returning (reviewer's logged-in htmx POST) to the agent's /wait returning",
        "empty request round trip p50 (GET /healthz)",
        "ms",
        Target("<", 100),
    ),
    Figure(
        "decision propagation p95",
        "propagation",
        "same decisions",
        "empty request round trip p95",
        "ms",
        Target("<", 250),
    ),
    Figure(
        "webhook delivery p95",
        "webhooks",
        "approve request returning (reviewer's htmx POST) to the agent's callback receiver getting the signed POST "
        "from a Celery worker",
        "empty request round trip p95",
        "ms",
        Target("<=", 250),
    ),
    Figure(
        "proposal to screen p95",
        "inbox_stream",
        "a proposal's 201 to its event on a logged-in supervisor's inbox stream (Server-Sent Events)",
        "empty request round trip p95",
        "ms",
        Target("<=", 250),
    ),
    Figure(
        "inbox p95 with waiting agents",
        "waiting",
        "GET / as a supervisor while 1,000 (small) or 10,000 (full) agents are parked on /wait",
        "the same page with none waiting",
        "ms",
        Target("<=", 1.2, on="ratio"),
    ),
    Figure(
        "/healthz p95 with waiting agents",
        "waiting",
        "GET /healthz while the same agents wait",
        "the same request with none waiting",
        "ms",
        Target("<=", 1.2, on="ratio"),
    ),
    Figure(
        "waking waiting agents p95",
        "waiting",
        "all of them decided by batch approvals of 100: a batch's answer to each of its agents' /wait answer",
        "",
        "ms",
        Target("<=", 50),
    ),
    Figure(
        "memory per waiting agent",
        "waiting",
        "growth of the server processes' resident set while they all wait, divided by their number",
        "",
        "KB",
        Target("<=", 50),
    ),
    # Measured by the other areas' modules (issues 3 to 8), plugged in as they land.
    Figure(
        "batch approval of 100", "inbox", "one request approving 100 actions", "one approval", "ms", Target("<", 1000)
    ),
    Figure(
        "audit search p95, filtered",
        "audit",
        "/audit/ with a filter over 1,000,000 events",
        "the same SQL run directly",
        "ms",
        Target("<", 100),
    ),
    Figure(
        "audit search p95, full text",
        "audit",
        "/audit/?q= over 1,000,000 events",
        "the same SQL run directly",
        "ms",
        Target("<", 100),
    ),
    Figure(
        "audit export peak memory",
        "audit",
        "peak RSS of the serving process exporting 1,000,000 events",
        "",
        "MB",
        Target("<", 150),
    ),
    Figure("audit export time", "audit", "streaming 1,000,000 events", "", "s", None),
    Figure("SLA sweep of 10,000", "sweep", "one task run over 10,000 overdue actions", "", "ms", Target("<", 5000)),
    Figure(
        "routing p95, 20 rules", "routing", "the pipeline in process, no external checker", "", "ms", Target("<", 2)
    ),
    Figure("client overhead p95", "client", "hitl_client propose + report of an auto-approved call", "", "ms", None),
    Figure(
        "insights page p95",
        "insights",
        "GET /insights/ (last 7 days) over 100,000 actions and 1,000,000 events, in process",
        "",
        "ms",
        Target("<", 300),
    ),
    Figure(
        "insights page p95, 90 days",
        "insights",
        "GET /insights/?start=90 days ago, same volume",
        "",
        "ms",
        Target("<", 300),
    ),
    Figure(
        "gateway overhead p50",
        "gateway",
        "an autonomous MCP tools/call through /mcp/ (token, proposal, routing, audit, forwarding) to the bench's "
        "own upstream over streamable HTTP",
        "the same call to the upstream directly, alternated",
        "ms",
        Target("<=", 1, on="ratio", plus=3),
    ),
    Figure(
        "gateway overhead p95", "gateway", "same calls", "direct call p95", "ms", Target("<=", 1, on="ratio", plus=8)
    ),
    Figure(
        "inbox p95 with held MCP tasks",
        "gateway",
        "GET / as a supervisor while 1,000 tools/call (small scale; 10,000 full) are held as MCP tasks",
        "the same page, the same cards pending, none held",
        "ms",
        Target("<=", 1.2, on="ratio"),
    ),
    Figure(
        "memory per held MCP task",
        "gateway",
        "growth of the server processes' resident set with the tasks held, divided by their number",
        "",
        "KB",
        Target("<=", 5),
    ),
    Figure("MCP task poll p95", "gateway", "tasks/get of a held task, one after another", "", "ms", Target("<=", 10)),
]


def percentile(samples, pct):
    """Nearest-rank percentile: a value that was actually measured."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Row:
    figure: Figure
    value: float | None = None
    baseline: float | None = None
    note: str = ""
    error: str = ""
    target: Target | None = field(default=None)

    @property
    def ratio(self):
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def passed(self):
        """True or False against the target; None when there is nothing to judge."""
        if self.error:
            return False
        if self.value is None or self.target is None:
            return None
        return self.target.met(self.value, self.baseline)

    def as_json(self):
        return {
            "figure": self.figure.name,
            "module": f"bench.{self.figure.module}",
            "how": self.figure.how,
            "unit": self.figure.unit,
            "value": self.value,
            "baseline": self.baseline,
            "baseline_is": self.figure.baseline,
            "ratio": self.ratio,
            "target": str(self.target) if self.target else None,
            "pass": self.passed,
            "note": self.error or self.note,
        }


TARGET_OVERRIDE = re.compile(r"^(?P<name>.+?)\s*(?P<op><=|>=|<|>)\s*(?P<limit>-?[\d.]+)$")


def parse_target(text):
    """ "inbox first page p95<150" → ("inbox first page p95", "<", 150.0), for --target."""
    match = TARGET_OVERRIDE.match(text.strip())
    if not match or match["name"] not in {f.name for f in FIGURES}:
        raise ValueError(f"not 'FIGURE OP NUMBER' with a known figure: {text!r}")
    return match["name"], match["op"], float(match["limit"])


def selected(only=()):
    """The figures whose name or module is in `only` (all of them when it is empty)."""
    if not only:
        return list(FIGURES)
    chosen = [f for f in FIGURES if f.name in only or f.module in only]
    unknown = set(only) - {f.name for f in chosen} - {f.module for f in chosen}
    if unknown:
        raise ValueError(f"no figure or module called {', '.join(sorted(unknown))}")
    return chosen


def measure(stack, figures, overrides=None, say=print):
    """One Row per figure, in table order; each module is imported and run once."""
    import importlib

    overrides = overrides or {}
    rows = []
    for module_name in dict.fromkeys(f.module for f in figures):
        mine = [f for f in figures if f.module == module_name]
        mine_rows = [Row(f, target=_target(f, overrides)) for f in mine]
        rows += mine_rows
        try:
            module = importlib.import_module(f"bench.{module_name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"bench.{module_name}":
                raise
            _note_all(mine_rows, f"skipped: bench/{module_name}.py does not exist yet")
            say(f"note: bench/{module_name}.py does not exist yet; skipping {', '.join(f.name for f in mine)}")
            continue
        if not hasattr(module, "measure"):
            _note_all(mine_rows, f"skipped: bench/{module_name}.py has no measure(stack)")
            say(f"note: bench/{module_name}.py has no measure(stack); run it alone: python -m bench.{module_name}")
            continue
        say(f"measuring: {', '.join(f.name for f in mine)}", flush=True)
        try:
            readings = module.measure(stack)
        except Exception as error:  # noqa: BLE001 — one broken figure must not hide the others
            for row in mine_rows:
                row.error = f"error: {type(error).__name__}: {error}"
            say(f"error in bench.{module_name}: {type(error).__name__}: {error}")
            continue
        for row in mine_rows:
            reading = readings.get(row.figure.name)
            if reading is None:
                row.error = f"error: bench.{module_name}.measure() did not report it"
            else:
                row.value, row.baseline, row.note = reading.value, reading.baseline, reading.note
    return rows


def _target(figure, overrides):
    if figure.name not in overrides:
        return figure.target
    op, limit = overrides[figure.name]
    if figure.target is None:
        return Target(op, limit)
    return Target(op, limit, on=figure.target.on, plus=figure.target.plus)


def _note_all(rows, note):
    for row in rows:
        row.note = note


def format_table(rows):
    header = ("figure", "value", "baseline", "ratio", "target", "result")
    lines = [header]
    for row in rows:
        unit = row.figure.unit
        lines.append(
            (
                row.figure.name,
                _number(row.value, unit),
                _number(row.baseline, unit),
                "—" if row.ratio is None else f"{row.ratio:.2f}",
                str(row.target) if row.target else "—",
                {True: "pass", False: "FAIL", None: "—"}[row.passed],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"  {row.figure.name}: {row.error or row.note}" for row in rows if row.error or row.note]
    return "\n".join(text + (["", "notes:"] + notes if notes else []))


def _number(value, unit):
    if value is None:
        return "—"
    if unit in ("queries", "proposals"):
        return f"{value:.0f}"
    return f"{value:,.1f} {unit}" if abs(value) < 1000 else f"{value:,.0f} {unit}"
