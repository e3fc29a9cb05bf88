"""Write docs/components.md: every registered encoder and fusion with its help, options and level.

    python scripts/gen_components_doc.py

tests/engine/test_rules.py checks that the committed file is current.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmstudio.engine.components import components_markdown
from mmstudio.fileio import atomic_write_text

DOC = Path(__file__).resolve().parents[1] / "docs" / "components.md"


def main() -> int:
    atomic_write_text(str(DOC), components_markdown())
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
