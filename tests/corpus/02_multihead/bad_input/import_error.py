# corpus: bad_input
# message: could not be imported (line 4): ModuleNotFoundError
"""Imports a module that does not exist."""
import attention_helpers_that_do_not_exist  # noqa: F401
