#!/usr/bin/env bash
# Run numerai-tools' own public test files (tests/test_scoring.py, test_signals.py,
# test_submissions.py: 72 tests) against neutralkit.compat.numerai_tools.
#
#   scripts/run_numerai_tools_tests.sh [NUMERAI_TOOLS_REPO] [pytest args...]
#
# NUMERAI_TOOLS_REPO is a checkout (work tree) or a bare/mirror git directory of
# https://github.com/numerai/numerai-tools (default: the local mirror below). The test
# files are extracted at run time into a temporary directory, never into this project,
# and run with a conftest that makes `numerai_tools.scoring`, `.signals` and
# `.submissions` resolve to the compat submodules (the installed numerai-tools, if any,
# is not imported: the conftest checks that).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=${1:-/work/.mirror/numerai+numerai-tools/repo}
shift || true
python=${PYTHON:-python}

work=$(mktemp -d "${TMPDIR:-/tmp}/nt-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tests"

for f in __init__.py test_scoring.py test_signals.py test_submissions.py; do
    if [ -f "$src/tests/$f" ]; then
        cp "$src/tests/$f" "$work/tests/$f"
    else
        git -C "$src" show "HEAD:tests/$f" >"$work/tests/$f"
    fi
done
if [ -d "$src/.git" ] || git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    echo "numerai-tools tests from $src @ $(git -C "$src" rev-parse --short HEAD)"
fi

cat >"$work/conftest.py" <<'PY'
"""Make `numerai_tools.*` resolve to neutralkit's drop-in before the tests import it."""

import sys
import types

import neutralkit.compat.numerai_tools as compat

package = types.ModuleType("numerai_tools")
package.__path__ = []  # a package with no files: nothing of the original is found
for name in ("scoring", "signals", "submissions"):
    module = getattr(compat, name)
    setattr(package, name, module)
    sys.modules[f"numerai_tools.{name}"] = module
sys.modules["numerai_tools"] = package


def pytest_report_header(config):
    import numerai_tools.scoring

    assert numerai_tools.scoring.__name__ == "neutralkit.compat.numerai_tools.scoring"
    return f"numerai_tools -> {compat.__name__} ({compat.__file__})"
PY

cd "$work"
PYTHONPATH="$here/python${PYTHONPATH:+:$PYTHONPATH}" "$python" -m pytest tests \
    -p no:cacheprovider -q -W error "$@"
