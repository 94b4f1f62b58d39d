"""User errors: one clear line and exit code 2; a traceback only for bugs."""
import sys

EXIT_USER_ERROR = 2


class UserError(Exception):
    """Bad input: the message names the file or value and the fix."""


def run_cli(main, argv=None):
    """Returns main(argv)'s exit code; a UserError prints one line and returns 2 (--debug re-raises
    it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    try:
        return main(argv)
    except UserError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
