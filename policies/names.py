"""What an action type may be called, and when two names of a person are the same person.

Both are checks on text an agent sends, so both refuse or fold what a reader cannot see:
invisible characters, look-alike letters from other scripts, compatibility forms, spacing.
"""

import functools
import json
import re
import unicodedata
from importlib.resources import files

# One format for every key, room included for MCP-style tool names ("git.git_status"):
# ASCII letters, digits, "_" and "-", in segments joined by dots, starting with a letter.
ACTION_KEY_MAX_LENGTH = 128
ACTION_KEY_FORMAT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")
ACTION_KEY_RULE = (
    f"1 to {ACTION_KEY_MAX_LENGTH} ASCII letters, digits, '_' and '-', in segments joined by single dots, "
    "starting with a letter (such as email.send or git.git_status)"
)


def _describe(char):
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".strip() if name else f"U+{ord(char):04X}"


def action_key_problem(key):
    """Why `key` cannot name an action type, in words that name the offending character; None if it can."""
    if not key:
        return f"The action key is empty; it must be {ACTION_KEY_RULE}."
    if len(key) > ACTION_KEY_MAX_LENGTH:
        return f"The action key is {len(key)} characters long; it must be {ACTION_KEY_RULE}."
    for position, char in enumerate(key):
        if not char.isascii():
            what = "an invisible character" if _invisible(char) else "a character outside ASCII"
        elif not (char.isalnum() or char in "._-"):
            what = repr(char)
        else:
            continue
        return f"The action key contains {what} at position {position} ({_describe(char)}): use {ACTION_KEY_RULE}."
    if not ACTION_KEY_FORMAT.fullmatch(key):
        return f"The action key '{key}' is not in the format: {ACTION_KEY_RULE}."
    return None


def look_alike(key, keys):
    """The first of `keys` (other than `key` itself) that a reader could take for `key`, or None."""
    return next((other for other in sorted(keys) if other != key and same_identity(key, other)), None)


def _invisible(char):
    # Format characters (zero-width spaces and joiners, bidi controls, soft hyphens), controls,
    # and every kind of space: none of them can be told apart by a person reading a name.
    return unicodedata.category(char) in ("Cf", "Cc", "Zs", "Zl", "Zp") or char in "\u115f\u1160\u3164\uffa0"


# One person is one person, one agent one agent, one action type one action type, however the
# name is spelled: compared by UTS #39's confusable skeleton after NFKC, case folding and the
# removal of default-ignorable characters and combining marks.


@functools.cache
def _prototypes():
    """{character: its prototype} from Unicode's confusables.txt, as confusable-homoglyphs ships it.

    That package keeps each line of the table both ways (source to prototype and back), so the
    direction is recovered from the table's shape: every prototype is a fixed point and every
    source a single character mapped to exactly one prototype, so each group of look-alikes is a
    star around its prototype, the member that the others all point to. A group of two single
    characters has no centre to find; either stands for both, which compares them alike all the
    same (ASCII is preferred, then the lower code point)."""
    table = json.loads(files("confusable_homoglyphs").joinpath("confusables.json").read_text(encoding="utf-8"))
    links = {}
    for key, entries in table.items():
        source = _unmarked(key)
        for entry in entries:
            target = _unmarked(entry["c"])
            if source and target and source != target:
                links.setdefault(source, set()).add(target)
                links.setdefault(target, set()).add(source)
    prototypes = {}
    for node, neighbours in links.items():
        if len(node) != 1 or len(neighbours) != 1:
            continue  # a prototype (several point to it), or a string no single character stands for
        [other] = neighbours
        if len(links[other]) > 1 or len(other) > 1 or _preferred(other) < _preferred(node):
            prototypes[node] = other
    return str.maketrans(prototypes)


def _unmarked(text):
    # The table's text comes from the comments of confusables.txt, where right-to-left characters
    # are wrapped in left-to-right marks for display; they are no part of the character.
    return text.replace("\u200e", "").replace("\u200f", "")


def _preferred(char):
    return (not char.isascii(), ord(char))


def skeleton(text):
    """UTS #39's skeleton: NFD, every character replaced by its confusables prototype, NFD; again
    until nothing changes, since a prototype written composed (a Hangul syllable, a letter with
    its accent) decomposes into characters that have prototypes of their own."""
    for _ in range(4):
        mapped = unicodedata.normalize("NFD", unicodedata.normalize("NFD", text).translate(_prototypes()))
        if mapped == text:
            break
        text = mapped
    return text


def fold(text):
    """NFKC, case folding, then default-ignorable characters (zero-width, joiners, bidi controls,
    variation selectors, Hangul fillers), spaces, controls and combining marks removed."""
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text or "").casefold())
    kept = (char for char in folded if not (_invisible(char) or unicodedata.category(char) in ("Mn", "Mc", "Me")))
    return unicodedata.normalize("NFC", "".join(kept))


def identity_forms(text):
    """The skeletons a name is compared by. Folded first, as UTS #39 asks for identifiers; and
    skeleton first too, because case folding can take a letter away from its look-alike: "I"
    folds to "i", while it is the capital "I" that reads as "l"."""
    return {fold(skeleton(fold(text))), fold(skeleton(fold(skeleton(text or ""))))} - {""}


def same_identity(one, other):
    """Whether a person could take the name `one` for `other` (a person, an agent, an action key):
    the one comparison that four eyes, action keys and agent names all use."""
    return bool(identity_forms(one) & identity_forms(other))
