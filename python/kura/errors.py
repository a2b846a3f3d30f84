"""kura.Error: what the command line would print after "kura: ", and why."""


class Error(Exception):
    """A kura operation failed.

    ``str(e)`` is the command line's one-line message; ``e.code`` says what
    kind of failure it is: "invalid_input", "not_found", "not_a_repository",
    "conflict", "nothing_to_do", "check_failed", "locked", "corrupt" or "io"
    (docs/python.md).
    """

    def __init__(self, message, code="invalid_input"):
        super().__init__(message)
        self.code = code
