"""Coverage-guided fuzzing of neutralkit's public API (atheris / libFuzzer).

    python tests/fuzz/fuzz_api.py -max_total_time=600 -timeout=60 /tmp/fuzz/corpus-api

See tests/fuzz/README.md (options, environment variables, triage).
"""

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["neutralkit", "fuzz_targets", "fuzz_inputs"]):
    import fuzz_targets


def main() -> None:
    atheris.Setup(sys.argv, fuzz_targets.api_target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
