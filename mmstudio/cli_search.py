"""``mmstudio index`` and ``mmstudio query``: a resumable on-disk collection per dataset and
model, and filtered searches over it."""

from __future__ import annotations

import argparse
import json
import sys

from mmstudio.cli_progress import progress_for


def index_command(args: argparse.Namespace) -> int:
    from mmstudio import engine

    if args.out:
        with progress_for(args) as progress:
            path = engine.build_index(args.bundle, args.data, out=args.out, split=args.split, on_event=progress)
        print(json.dumps({"index": path}) if args.json else f"index: {path}")
        return 0
    control = engine.Control()
    with _stop_on_signals(control):
        result = engine.drive(
            engine.index_collection(
                args.bundle,
                args.data,
                args.split,
                control=control,
                batch_size=args.batch_size,
                workers=args.workers,
                ann=args.ann,
            ),
            _progress_to_stderr(),
        )
    summary = {
        "index": result.path,
        "rows": result.rows,
        "embedded": result.embedded,
        "kept": result.kept,
        "removed": result.removed,
        "seconds": round(result.seconds, 2),
        "stopped": result.stopped,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        state = "stopped; run again to continue" if result.stopped else "up to date"
        print(
            f"index: {result.path}\n  {result.rows:,} items ({result.embedded:,} embedded, "
            f"{result.kept:,} kept, {result.removed:,} removed) in {result.seconds:.1f} s: {state}"
        )
    return 0


def _progress_to_stderr():
    """Progress lines on stderr, at most one every two seconds (and the last)."""
    import time

    from mmstudio.engine.query_session import describe_progress

    last = [0.0]

    def show(event) -> None:
        now = time.monotonic()
        if now - last[0] >= 2 or event.done == event.total:
            last[0] = now
            print(describe_progress(event), file=sys.stderr, flush=True)

    return show


class _stop_on_signals:
    """Ctrl+C or SIGTERM stops at the next batch (what is embedded is kept); a second aborts."""

    def __init__(self, control) -> None:
        self.control = control

    def __enter__(self):
        import signal

        self.previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for sig in self.previous:
            signal.signal(sig, self._stop)
        return self

    def _stop(self, sig, _frame) -> None:
        import signal

        self.control.stop()
        signal.signal(sig, self.previous[sig])

    def __exit__(self, *exc) -> None:
        import signal

        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def query_command(args: argparse.Namespace) -> int:
    from mmstudio import engine

    filters = {"label": args.label, "split": args.in_split, "has": args.has}
    uses_collection = args.data or args.like is not None or args.nprobe or any(filters.values())
    if args.index or not uses_collection and engine.has_bundle_index(args.bundle):
        result = engine.query(
            args.bundle,
            text=args.text,
            image=args.image,
            audio=args.audio,
            target=args.target,
            index=args.index,
            top=args.top,
        )
    else:
        session = engine.QuerySession(args.bundle)
        folder = engine.find_collection(session.bundle, args.data, args.split)
        session.open_collection(folder)
        if args.like is not None:
            result = session.more_like(args.like, args.target, args.top, **filters)
        else:
            result = session.query(
                text=args.text,
                image=args.image,
                audio=args.audio,
                target=args.target,
                top=args.top,
                knob=args.nprobe,
                **filters,
            )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for r in result["results"]:
        where = r["path"] or r["text"]
        print(f"{r['rank']:3d}  {r['score']:.4f}  {r['label'] or '-':>10}  {where}")
    return 0
