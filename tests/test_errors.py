import pytest

from seg.utils.errors import EXIT_USER_ERROR, UserError, run_cli


def _main(argv):
    if argv == ["bad"]:
        raise UserError("bad value 'bad': use 'good'")
    if argv == ["bug"]:
        raise RuntimeError("a bug")
    return 0


def test_user_error_is_one_line_and_exit_code_2(capsys):
    assert run_cli(_main, ["bad"]) == EXIT_USER_ERROR
    assert capsys.readouterr().err == "error: bad value 'bad': use 'good'\n"


def test_debug_shows_the_traceback_and_bugs_are_not_caught():
    with pytest.raises(UserError):
        run_cli(_main, ["bad", "--debug"])
    with pytest.raises(RuntimeError):
        run_cli(_main, ["bug"])
    assert run_cli(_main, []) == 0
