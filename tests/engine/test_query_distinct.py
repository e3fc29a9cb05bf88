"""Query fills its list to Top K distinct items (issue 15): when the nearest hits share one
input (an image with many captions), the engine asks the index for more until it has K distinct
inputs, and says when the collection has fewer."""

from __future__ import annotations

import types

from mmstudio.engine.query_session import DUPLICATE_ROOM, QuerySession


def _session(images: list[int]) -> tuple[QuerySession, list[int]]:
    """A session over items whose ``image`` is ``images[i]``, ranked in that order for any
    query; it records every number of hits asked for."""
    session = QuerySession.__new__(QuerySession)
    session.items = [{"id": str(i), "image": f"/img/{n}.png", "text": f"caption {i}"} for i, n in enumerate(images)]
    asked: list[int] = []

    def search(_q, _target, k, **_filters):
        asked.append(k)
        return [(i, 1.0 - i / 1000) for i in range(min(k, len(images)))]

    session.search = types.SimpleNamespace(search=search)
    return session, asked


def test_many_captions_of_one_image_do_not_shorten_the_list():
    # the 60 nearest items are captions of image 0: the first ask (top x DUPLICATE_ROOM) finds one
    session, asked = _session([0] * 60 + list(range(1, 20)))
    results, short = session._distinct(lambda k: session.search.search(None, "image", k), "image", 5)
    assert [r["image"] for r in results] == [f"/img/{n}.png" for n in range(5)]
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5] and not short
    assert asked[0] == 5 * DUPLICATE_ROOM and len(asked) > 1  # it asked again, for more


def test_a_collection_with_fewer_distinct_inputs_says_so():
    session, asked = _session([n % 3 for n in range(40)])  # 40 items, 3 images
    results, short = session._distinct(lambda k: session.search.search(None, "image", k), "image", 10)
    assert len(results) == 3 and short
    assert asked[-1] > 40  # stopped because the collection ran out, not at an arbitrary cap
    results, short = session._distinct(lambda k: session.search.search(None, "image", k), "image", 3)
    assert len(results) == 3 and not short
