"""What an action type may be called, and when two names of a person are the same person.

Both are checks on text an agent sends, so both refuse or fold what a reader cannot see:
invisible characters, look-alike letters from other scripts, compatibility forms, spacing.
"""

import re
import unicodedata

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


# Unicode's confusables (UTS #39, confusables.txt) that map ASCII to ASCII, the only characters a
# key may hold: 0 reads as O, 1 and I as l, m as rn. With case folded on top (a second spelling
# by case is as easy to mistake), two keys with one skeleton are told apart only by close reading.
_CONFUSABLE = str.maketrans({"0": "O", "1": "l", "I": "l"})


def skeleton(key):
    """The form in which look-alike keys compare equal: UTS #39's skeleton within ASCII, case-folded."""
    return key.translate(_CONFUSABLE).casefold().replace("m", "rn")


def look_alike(key, keys):
    """The first of `keys` (other than `key` itself) that a reader could take for `key`, or None."""
    mark = skeleton(key)
    return next((other for other in sorted(keys) if other != key and skeleton(other) == mark), None)


def _invisible(char):
    # Format characters (zero-width spaces and joiners, bidi controls, soft hyphens), controls,
    # and every kind of space: none of them can be told apart by a person reading a name.
    return unicodedata.category(char) in ("Cf", "Cc", "Zs", "Zl", "Zp") or char in "\u115f\u1160\u3164\uffa0"


def identity(text):
    """The form in which two spellings of one person compare equal: NFKC (fullwidth and other
    compatibility forms folded), case-folded, invisible characters removed, trimmed."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(char for char in folded if not _invisible(char)).strip()
