"""Collects the outcome of every corpus case and prints the summary the issue asks for."""

OUTCOMES: list[dict] = []


def pytest_terminal_summary(terminalreporter):
    if not OUTCOMES:
        return
    expected = sum(1 for o in OUTCOMES if o["as_expected"])
    lost = sum(o["bytes_lost"] for o in OUTCOMES)
    terminalreporter.write_sep("=", "bad-input corpus")
    terminalreporter.write_line(f"cases tried: {len(OUTCOMES)}, outcomes as expected: {expected}, bytes lost: {lost}")
