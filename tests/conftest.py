import os
import shutil

import pytest


def require_system(program: str, package: str) -> str:
    """Path of a system program, or skip (fail under REQUIRE_SYSTEM_TESTS=1) when it is missing."""
    path = shutil.which(program)
    if path:
        return path
    message = (
        f"'{program}' is not installed: install the Debian package '{package}' "
        "(./dev test does it when run as root)"
    )
    if os.environ.get("REQUIRE_SYSTEM_TESTS") == "1":
        pytest.fail(message)
    pytest.skip(message)
