import subprocess
import sys

from benchmark.errors import user_error_message


def test_recognising_errors_imports_no_torch():
    code = (
        "import sys; from benchmark.errors import user_error_message; "
        "assert user_error_message(ValueError('x')) is None; "
        "assert user_error_message(FileNotFoundError('no such file')) == 'no such file'; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_recipe_mismatch_is_the_users_to_fix():
    from benchmark.toy.train import RecipeMismatchError

    assert user_error_message(RecipeMismatchError("other settings\nmore")) == "other settings"
    assert user_error_message(ValueError("a bug")) is None
