"""Verifying the audit log: each lane's chain of events, the chain of signed heads and the
witnesses outside PostgreSQL; then signing a new head that says how far it all verified.

What each check catches, and names (docs/reliability.md has the argument):
- an event edited in place: its hash no longer matches ("does not match its hash");
- an event's link or hash replaced: "does not link to the event before it";
- events deleted from the middle of a lane: a gap in its positions ("missing");
- events deleted from a lane's end: the lane ends before where the newest signed head saw it
  ("cut short");
- a lane rewritten with every later hash recomputed, or all of it re-chained: the event the
  newest signed head names has another hash ("rewritten somewhere after …" / "re-chained"), located by
  the older heads that still match;
- heads deleted: a gap in the head chain, or the witness holds heads the database lacks;
- a forged head row: its signature (and, forged with the key, the witness's copy) differs.
The newest signed head comes from the database or the witness, whichever is newer, so
deleting heads and events together is caught as long as the witness keeps its copy.
"""

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from audit import witness
from audit.canonical import canonical_json, exact_loads
from audit.models import GENESIS_HASH, ChainHead, Checkpoint, Event

# The old chain lock's number; now it only keeps two verifications from signing at once.
VERIFY_LOCK_ID = 0x0A0D17
BATCH = 5000
# A periodic run that found nothing new still signs a head this often, so that the page's
# "verified … ago" stays true.
IDLE_HEAD_INTERVAL = timedelta(hours=1)


@dataclass
class Result:
    ok: bool
    seq: int  # the newest event verified
    checked: int  # events this run walked
    problems: list = field(default_factory=list)
    lanes: dict = field(default_factory=dict)  # {lane: (lane_seq, hash, seq)}, the head signs these
    head: ChainHead | None = None  # the head this run signed

    @property
    def problem(self):
        return "; ".join(self.problems)


def verify_chain(*, full=False, periodic=False, progress=None, now=None):
    """Verify the log and sign a new head saying how far it verified. Incremental by default:
    from the newest signed head on. `full` walks every lane from the last checkpoint and every
    head of the head chain. `periodic` signs no head when nothing changed (see
    IDLE_HEAD_INTERVAL; the cadence entry signs one regardless). `progress(checked, total)` is
    called after each batch of events. `now` is the time the head is signed at (tests sign
    heads in the past, as a log that has run for a while has them)."""
    now = now or timezone.now()
    with _one_at_a_time():
        heads = _Heads(full=full, now=now)
        result = _verify(heads, full=full, progress=progress)
        if periodic and not _worth_a_head(result, heads.anchor, now):
            return result
        result.head = _sign_head(result, heads, full=full, now=now)
    return result


def margin():
    return timedelta(seconds=settings.AUDIT_HEAD_MARGIN_SECONDS)


def stale_problem(head, now):
    """Why the newest head `head` is older than its own promise allows, or ""."""
    due = head.next_due(margin()) if head is not None else None
    if due is None or now <= due:
        return ""
    return (
        f"stale: the newest chain head (#{head.number}) was signed at {_when(head.verified_at)}, "
        f"{_duration(now - head.verified_at)} ago, but one is signed every {_duration(head.cadence)}: "
        "newer heads were deleted from the database and every readable witness (a rollback), or none has "
        "been signed since (is Celery beat running?)"
    )


def gap_problem(before, head):
    """Why the time between `before` and the head after it, `head`, breaks before's promise, or ""."""
    due = before.next_due(margin())
    if due is None or head.verified_at <= due:
        return ""
    return (
        f"gap: no chain head between #{before.number} ({_when(before.verified_at)}) and #{head.number} "
        f"({_when(head.verified_at)}), {_duration(head.verified_at - before.verified_at)} where one was due "
        f"every {_duration(before.cadence)}: heads of that time were deleted with the events they signed "
        "(a rollback), or none was signed while Celery beat was down"
    )


def _when(moment):
    return moment.isoformat(timespec="seconds")


def _duration(span):
    seconds = int(span.total_seconds() if isinstance(span, timedelta) else span)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


@contextmanager
def _one_at_a_time():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [VERIFY_LOCK_ID])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [VERIFY_LOCK_ID])


def _verify(heads, *, full, progress):
    checkpoint = Checkpoint.objects.order_by("-seq").first()
    if checkpoint is not None and not checkpoint.is_authentic():
        return Result(False, 0, 0, [f"checkpoint at #{checkpoint.seq} has a bad signature: forged or altered"])
    purged = checkpoint.lane_starts() if checkpoint else {}
    anchor = heads.anchor
    signed = anchor.lane_ends() if anchor is not None else heads.legacy_ends()
    problems = list(heads.problems)
    if anchor is not None and not full and not anchor.ok and anchor.problem:
        problems.append(anchor.problem)  # still broken: an incremental run does not look back
    if stale := stale_problem(anchor, heads.now):
        problems.append(stale)

    lanes = sorted(set(_lanes_in_use()) | set(purged) | set(signed))
    ends = {}
    broken_anchor = set()
    for lane in lanes:
        problem = _check_signed_end(lane, signed.get(lane), purged.get(lane), heads)
        if problem:
            problems.append(problem)
            broken_anchor.add(lane)

    walked = _Progress(progress, total=Event.objects.count() if full else 0)
    for lane in lanes:
        start = purged.get(lane, (0, GENESIS_HASH))
        if not full and lane in signed and signed[lane][0] > start[0]:
            start = signed[lane]
        if lane in broken_anchor and not full:
            ends[lane] = _end_with_seq(lane, signed[lane])
            continue
        end, problem = _walk_lane(lane, start, walked)
        if problem:
            problems.append(problem)
            broken_anchor.add(lane)  # named already: the older heads need not name it again
        # A head never moves a lane back from where a signed head saw it: a lane cut short or
        # rewritten stays found by the next run, which starts from this head.
        if lane in signed and signed[lane][0] > end[0]:
            end = _end_with_seq(lane, signed[lane])
        ends[lane] = end

    if full:
        problems += _older_heads_against_events(heads, purged, skip=broken_anchor)
    newest = max((end[2] for end in ends.values() if end[2] is not None), default=0)
    return Result(not problems, newest, walked.checked, problems, ends)


def _older_heads_against_events(heads, purged, *, skip):
    """Every authentic head's lane ends must still be in the events. The newest head is checked
    above; this catches a history rewritten and then signed over with the signing key (a new
    head that matches the rewrite), which the older heads a remote witness keeps still contradict."""
    expected = {}  # {lane: {lane_seq: (number, hash)}}
    for number, head in sorted(heads.authentic().items()):
        for lane, (lane_seq, hash_) in head.lane_ends().items():
            if lane in skip or lane_seq <= purged.get(lane, (0, ""))[0]:
                continue
            expected.setdefault(lane, {}).setdefault(lane_seq, (number, hash_))
    problems = []
    for lane, ends in sorted(expected.items()):
        positions = sorted(ends)
        for first in range(0, len(positions), 5000):
            chunk = positions[first : first + 5000]
            stored = dict(
                Event.objects.filter(lane=lane, lane_seq__in=chunk).values_list("lane_seq", "hash").order_by()
            )
            wrong = next((p for p in chunk if stored.get(p) != ends[p][1]), None)
            if wrong is not None:
                number = ends[wrong][0]
                problems.append(
                    f"lane {lane} was rewritten after head #{number} signed it: event {lane}:{wrong} "
                    + ("is missing" if wrong not in stored else "no longer has the hash it signed")
                    + ", though a newer head matches the events: that head was made with the signing key"
                )
                break
    return problems


def _lanes_in_use():
    """The distinct lanes of the events, one index probe per lane (a loose index scan)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE used(lane) AS (
                (SELECT lane FROM audit_event ORDER BY lane LIMIT 1)
                UNION ALL
                SELECT (SELECT e.lane FROM audit_event e WHERE e.lane > used.lane ORDER BY e.lane LIMIT 1)
                FROM used WHERE used.lane IS NOT NULL
            )
            SELECT lane FROM used WHERE lane IS NOT NULL
            """
        )
        return [row[0] for row in cursor.fetchall()]


def _end_with_seq(lane, end):
    lane_seq, hash_ = end[0], end[1]
    seq = Event.objects.filter(lane=lane, lane_seq=lane_seq).values_list("seq", flat=True).first()
    return (lane_seq, hash_, seq)


class _Progress:
    def __init__(self, callback, *, total):
        self.callback, self.total, self.checked = callback, total, 0

    def add(self, count):
        self.checked += count
        if self.callback is not None:
            self.callback(self.checked, self.total)


def _walk_lane(lane, start, walked):
    """Walk one lane from `start` (lane_seq, hash). Returns ((lane_seq, hash, seq) of the last
    event that verified, or the start), and the problem found, or ''."""
    lane_seq, prev_hash = start
    last_seq = None
    seen_version_2 = False
    while True:
        batch = list(
            Event.objects.filter(lane=lane, lane_seq__gt=lane_seq)
            .order_by("lane_seq")
            .defer("data", "search")
            .annotate(exact_data=Cast("data", TextField()))[:BATCH]
        )
        for position, event in enumerate(batch):
            event.data = exact_loads(event.exact_data)
            problem = ""
            if event.lane_seq != lane_seq + 1:
                after = f"after event #{last_seq}" if last_seq else "at its start"
                problem = (
                    f"lane {lane}: events {lane}:{lane_seq + 1}–{lane}:{event.lane_seq - 1} are missing "
                    f"{after}, before event #{event.seq}: deleted"
                )
            elif event.version == 1 and (lane != 0 or seen_version_2):
                problem = f"event #{event.seq} claims chain version 1 after version 2 began: altered"
            elif event.prev_hash != prev_hash:
                problem = f"event #{event.seq} ({_named(event)}) does not link to the event before it in lane {lane}"
            elif event.compute_hash() != event.hash:
                problem = f"event #{event.seq} ({_named(event)}) does not match its hash: edited"
            if problem:
                walked.add(position)
                return (lane_seq, prev_hash, last_seq), problem
            seen_version_2 = seen_version_2 or event.version >= 2
            lane_seq, prev_hash, last_seq = event.lane_seq, event.hash, event.seq
        walked.add(len(batch))
        if len(batch) < BATCH:
            return (lane_seq, prev_hash, last_seq), ""


def _named(event):
    return f"{event.kind} at {event.at.isoformat()}"


def _check_signed_end(lane, signed_end, purged_end, heads):
    """Why the event where the newest signed head saw this lane end no longer matches it, or ''."""
    if signed_end is None or signed_end[0] == 0:
        return ""
    lane_seq, signed_hash = signed_end
    if purged_end is not None and lane_seq <= purged_end[0]:
        return ""  # purged behind a checkpoint since
    current = Event.objects.filter(lane=lane, lane_seq=lane_seq).values_list("hash", "seq").first()
    where = heads.anchor_name
    if current is None:
        last = Event.objects.filter(lane=lane).aggregate(end=Max("lane_seq"))["end"]
        if last is None or last < lane_seq:
            ends_at = f"{lane}:{last}" if last is not None else "nothing"
            return (
                f"lane {lane} was cut short: it ends at {ends_at} but {where} signed it up to {lane}:{lane_seq}: "
                "events deleted from its end"
            )
        return f"event {lane}:{lane_seq}, signed in {where}, is missing: deleted"
    if current[0] == signed_hash:
        return ""
    matching = heads.newest_matching(lane, below=heads.anchor.number if heads.anchor else None)
    if matching is None:
        return (
            f"lane {lane} was rewritten: event #{current[1]} ({lane}:{lane_seq}) no longer has the hash {where} "
            "signed, and no older signed head matches the lane: it was re-chained, every hash recomputed"
        )
    number, (good_seq, _good_hash) = matching
    good_event = Event.objects.filter(lane=lane, lane_seq=good_seq).values_list("seq", flat=True).first()
    return (
        f"lane {lane} was rewritten somewhere after event #{good_event} ({lane}:{good_seq}, still as head #{number} "
        "signed it): "
        f"event #{current[1]} ({lane}:{lane_seq}) no longer has the hash {where} signed, every hash after the "
        "change recomputed"
    )


class _Heads:
    """The chain of signed heads as the database and the readable witnesses hold it: what is
    wrong with it, and the newest authentic head (the anchor)."""

    def __init__(self, *, full=False, load=True, now=None):
        self.now = now or timezone.now()
        self.problems = []
        self.witnesses = [w for w in witness.configured() if w.readable]
        self.anchor = None
        self._cache = {}
        if not load:
            return
        rows = ChainHead.objects.filter(number__isnull=False)
        witnessed = {w.name: self._witnessed(w, full=full) for w in self.witnesses}
        if full:
            every = rows.order_by("number").iterator(chunk_size=2000)
            try:
                self._check_all(every, witnessed)
            finally:
                # A witness that fails mid-way (WitnessError) must not leave the server-side cursor
                # to be closed whenever the generator is collected, inside some later transaction.
                every.close()
        else:
            self._check_newest(list(rows.order_by("-number")[:20]), witnessed)

    @property
    def anchor_name(self):
        return f"head #{self.anchor.number}" if self.anchor is not None and self.anchor.number else "the last head"

    def _witnessed(self, w, *, full):
        return w.numbers() if full else [n for n in [w.latest()] if n is not None]

    def _from_witness(self, w, number):
        text = w.read(number)
        if text is None:
            return None
        try:
            head = ChainHead.from_record(text)
        except (ValueError, KeyError, TypeError):
            return "unreadable"
        return head

    def _consider(self, head):
        if self.anchor is None or head.number > self.anchor.number:
            self.anchor = head

    def _check_all(self, rows, witnessed):
        in_database = {}
        for head in rows:
            in_database[head.number] = head.signature
            if not head.is_authentic():
                self.problems.append(f"chain head #{head.number} has a bad signature: forged or altered")
                continue
            self._cache[head.number] = head
            self._check_link(head)
            if self._check_against_witnesses(head):
                self._consider(head)
        all_numbers = set(in_database)
        for name, numbers in witnessed.items():
            only_there = sorted(set(numbers) - set(in_database))
            for run in _runs(only_there):
                self.problems.append(
                    f"chain heads {_span(run)} were deleted from the database: the witness ({name}) still has them"
                )
            all_numbers |= set(numbers)
            self._consider_witnessed(name, only_there)
        if all_numbers:
            missing = sorted(set(range(1, max(all_numbers) + 1)) - all_numbers)
            for run in _runs(missing):
                self.problems.append(f"chain heads {_span(run)} are missing from the database and every witness")

    def _check_newest(self, rows, witnessed):
        newest_number = rows[0].number if rows else None
        # The newest head that is authentic and that the witnesses agree with is the anchor.
        for head in rows:
            if not head.is_authentic():
                self.problems.append(f"chain head #{head.number} has a bad signature: forged or altered")
                continue
            self._cache[head.number] = head
            self._check_link(head)
            if self._check_against_witnesses(head):
                self._consider(head)
                break
        for name, numbers in witnessed.items():
            latest = numbers[0] if numbers else None
            if latest is not None and (newest_number is None or latest > newest_number):
                first = (newest_number or 0) + 1
                self.problems.append(
                    f"chain heads {_span((first, latest))} were deleted from the database: "
                    f"the witness ({name}) still has them"
                )
                self._consider_witnessed(name, [latest])

    def _consider_witnessed(self, name, numbers):
        w = next(w for w in self.witnesses if w.name == name)
        for number in reversed(numbers):
            head = self._from_witness(w, number)
            if isinstance(head, ChainHead) and head.number == number and head.is_authentic():
                self._cache.setdefault(number, head)
                self._consider(head)
                return
            self.problems.append(
                f"the witness's copy of head #{number} ({name}) is not signed with the signing key: replaced or "
                "altered by someone without it"
            )

    def _check_link(self, head):
        if head.prev_number is None:
            if head.number != 1:
                self.problems.append(f"chain head #{head.number} names no head before it: the chain was cut")
            return
        before = self.get(head.prev_number)
        if before is None:
            self.problems.append(f"chain head #{head.number} follows head #{head.prev_number}, which is missing")
        elif before.signature != head.prev_signature:
            self.problems.append(
                f"chain head #{head.number} does not follow head #{head.prev_number}: one of them was replaced"
            )
        elif gap := gap_problem(before, head):
            self.problems.append(gap)

    def _check_against_witnesses(self, head):
        """Whether every readable witness holds this head as it is (problems say which not)."""
        agreed = True
        for w in self.witnesses:
            text = w.read(head.number)
            if text is None:
                self.problems.append(
                    f"chain head #{head.number} is signed but not in the witness ({w.name}): its copy there was "
                    "deleted, or the head was made with the signing key and never witnessed"
                )
            elif text != head.record():
                self.problems.append(self._disagreement(head, w, text))
            else:
                continue
            agreed = False
        return agreed

    @staticmethod
    def _disagreement(head, w, text):
        """Words for a witness copy that differs from the authentic head in the database: whether
        the copy itself is signed says whether whoever changed it had the signing key."""
        try:
            copy = ChainHead.from_record(text)
            signed = copy.number == head.number and copy.is_authentic()
        except (ValueError, KeyError, TypeError):
            signed = False
        if not signed:
            return (
                f"the witness's copy of chain head #{head.number} ({w.name}) was replaced or altered: it is not "
                "signed with the signing key (done without it); the database's head is authentic"
            )
        return (
            f"chain head #{head.number} exists in two versions, each validly signed (the database's and the "
            f"witness's, {w.name}): one of them was made with the signing key"
        )

    def authentic(self):
        """{number: head} of every authentic head of the head chain seen so far (a full run sees all)."""
        return {number: head for number, head in self._cache.items() if head is not None and head.number}

    def get(self, number):
        """The authentic head `number`, from the database or else a witness, or None."""
        if number in self._cache:
            return self._cache[number]
        head = ChainHead.objects.filter(number=number).first()
        if head is None or not head.is_authentic():
            head = None
            for w in self.witnesses:
                found = self._from_witness(w, number)
                if isinstance(found, ChainHead) and found.number == number and found.is_authentic():
                    head = found
                    break
        self._cache[number] = head
        return head

    def newest_matching(self, lane, *, below):
        """(number, (lane_seq, hash)) of the newest head before `below` whose end of `lane` still
        matches the events, found by bisection (a rewrite breaks every head after it)."""
        if not below:
            return None
        low, high, found = 1, below - 1, None
        while low <= high:
            middle = (low + high) // 2
            head = self.get(middle)
            end = head.lane_ends().get(lane) if head is not None else None
            if end is None:
                low = middle + 1  # no lane yet (or no head): look later
                continue
            stored = Event.objects.filter(lane=lane, lane_seq=end[0]).values_list("hash", flat=True).first()
            if stored == end[1]:
                found, low = (middle, end), middle + 1
            else:
                high = middle - 1
        return found

    def legacy_ends(self):
        """Before the first head of the head chain: the newest verified head of chain version 1."""
        head = ChainHead.objects.filter(number__isnull=True, ok=True).order_by("-pk").first()
        if head is None:
            return {}
        if not head.is_authentic():
            self.problems.append(f"the chain head signed at {head.verified_at} has a bad signature")
            return {}
        return head.lane_ends()


def _runs(numbers):
    """[(first, last), …] of the consecutive runs in sorted `numbers`."""
    runs = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def _span(run):
    first, last = run
    return f"#{first}" if first == last else f"#{first}–#{last}"


def _worth_a_head(result, anchor, now):
    if anchor is None:
        return True
    moved = {lane: list(end[:2]) for lane, end in result.lanes.items()} != {
        lane: list(end[:2]) for lane, end in anchor.lane_ends().items()
    }
    changed = (result.ok, result.problem) != (anchor.ok, anchor.problem)
    return moved or changed or anchor.verified_at < now - IDLE_HEAD_INTERVAL


def _sign_head(result, heads, *, full, now):
    """Store the new head and write it to every witness, in one transaction: a witness that
    refuses it (WitnessError) rolls the head back. The write-only witnesses go first, then the
    remote ones, which may refuse (a receipt that does not check), the directory last, so that a
    readable one never holds a head the database lacks unless the commit itself failed."""
    witnesses = sorted(witness.configured(), key=lambda w: (w.readable, isinstance(w, witness.DirectoryWitness)))
    newest = ChainHead.objects.aggregate(top=Max("number"))["top"] or 0
    for w in heads.witnesses:
        newest = max(newest, w.latest() or 0)
    before = heads.anchor
    head = ChainHead(
        number=newest + 1,
        prev_number=before.number if before is not None else None,
        prev_signature=before.signature if before is not None else "",
        verified_at=now,
        ok=result.ok,
        problem=result.problem,
        seq=result.seq,
        lanes={str(lane): [end[0], end[1], end[2]] for lane, end in sorted(result.lanes.items())},
        checked=result.checked,
        full=full,
        cadence=settings.AUDIT_HEAD_CADENCE_SECONDS,
    )
    head.hash = hashlib.sha256(canonical_json(head.payload()).encode()).hexdigest()
    head.signature = head.expected_signature()
    with transaction.atomic():
        head.save(force_insert=True)
        for w in witnesses:
            w.write(head.number, head.record())
    return head


@dataclass
class Status:
    """What the audit page says about the chain, from the newest head, its signature checked."""

    ok: bool
    head: ChainHead | None
    problem: str = ""


def chain_status():
    """The newest head, checked the cheap way (its signature, its link to the head before it,
    the witnesses' newest head), for the audit page; None when nothing was ever verified. A
    witness that cannot be read (a remote one down) makes the status unknown, not the page fail."""
    try:
        return _chain_status()
    except witness.WitnessError as error:
        head = ChainHead.objects.filter(number__isnull=False).order_by("-number").first()
        return Status(False, head, f"the chain cannot be checked now: {error}")


def _chain_status():
    head = ChainHead.objects.filter(number__isnull=False).order_by("-number").first()
    if head is None:
        head = ChainHead.objects.filter(number__isnull=True).order_by("-pk").first()
    readable = [w for w in witness.configured() if w.readable]
    for w in readable:
        latest = w.latest()
        newest = head.number if head is not None and head.number else 0
        if latest is not None and latest > newest:
            return Status(
                False,
                head,
                f"chain heads {_span((newest + 1, latest))} were deleted from the database: "
                f"the witness ({w.name}) still has them",
            )
    if head is None:
        return None
    if not head.is_authentic():
        which = f"#{head.number}" if head.number else f"signed at {head.verified_at}"
        return Status(False, head, f"the newest chain head ({which}) has a bad signature: forged or altered")
    if head.number is not None:
        heads = _Heads(load=False)
        heads._check_link(head)
        heads._check_against_witnesses(head)
        if stale := stale_problem(head, heads.now):
            heads.problems.append(stale)
        if heads.problems:
            return Status(False, head, "; ".join(heads.problems))
    return Status(head.ok, head, head.problem)
