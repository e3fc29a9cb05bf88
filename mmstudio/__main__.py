"""``mmstudio`` / ``python -m mmstudio``: the window, or a headless command when one is named.

mmstudio                      open the studio (the bundled demo when nothing else is given)
mmstudio PATH...              open the studio with these datasets or a project
mmstudio inspect PATH --json  the headless commands (see ``mmstudio --help``)
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv:  # the CLI's names only when something is named: a plain launch goes to the window
        from mmstudio import cli

        if argv[0] in cli.COMMANDS or argv[0] in ("-h", "--help", "--version"):
            return cli.main(argv)  # a closed pipe (`| head`) ends it quietly with status 0
    from mmstudio.gui.app import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
