"""User errors: one clear line and exit code 2; a traceback only for bugs."""
import sys

EXIT_USER_ERROR = 2


class UserError(Exception):
    """Bad input: the message names the file or value and the fix."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the user named (or the config points to) does not exist."""


class UnreadableFileError(UserError, OSError):
    """A file that exists but cannot be read or decoded (truncated, not an image, ...)."""


class BadValueError(UserError, ValueError):
    """A value, or the content of a file, that cannot be used as given."""


def run_cli(main, argv=None):
    """Returns main(argv)'s exit code; a UserError prints one line and returns 2 (--debug
    re-raises it).

    A main that returns something other than an int (results, for callers in Python) exits with 0.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    try:
        code = main(argv)
    except UserError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    return code if isinstance(code, int) else 0
