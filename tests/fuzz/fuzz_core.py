"""Coverage-guided fuzzing of neutralkit._core, the compiled bindings (atheris / libFuzzer).

    python tests/fuzz/fuzz_core.py -max_total_time=600 -timeout=60 /tmp/fuzz/corpus-core

See tests/fuzz/README.md (options, environment variables, triage).
"""

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["neutralkit", "fuzz_targets", "fuzz_inputs"]):
    import fuzz_targets


def main() -> None:
    atheris.Setup(sys.argv, fuzz_targets.core_target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
