"""CSV meant for spreadsheets: a cell a spreadsheet would run as a formula is written as text."""

# OWASP's list of the characters a formula may start with.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """`value` as a CSV cell: text that starts like a formula gets a leading apostrophe, since
    agent-written text opened in a spreadsheet must not run; None is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
