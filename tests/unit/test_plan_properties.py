"""Properties of the planner on generated files and policies.

* deterministic: the same input gives the same plan;
* idempotent: build the MediaInfo the plan predicts, plan again: no changes,
  for every output container;
* the plan never drops a track without listing it.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tests.fuzzing import examples
from tests.strategies import media_infos, policies
from vpo_tui.media import MediaInfo
from vpo_tui.policy.model import (
    Policy,
)
from vpo_tui.policy.plan import plan, predicted_media
from vpo_tui.policy.planned import PassKind, PlanError

SETTINGS = settings(
    max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(policies(), media_infos())
def test_plan_is_deterministic_and_idempotent(policy: Policy, media: MediaInfo) -> None:
    try:
        first = plan(policy, media)
    except PlanError as error:
        assert str(error).startswith(str(media.path))
        return
    assert plan(policy, media) == first
    if first.skip_reason is not None:
        assert first.changes == () and first.pass_kind is PassKind.NONE
        return
    assert (first.changes == ()) == (first.pass_kind is PassKind.NONE)
    output = predicted_media(first)
    again = plan(policy, output)
    assert again.changes == (), (first.changes, again.changes)
    assert again.pass_kind is PassKind.NONE
    # what the second plan predicts is exactly what the first one produced
    assert predicted_media(again).tracks == output.tracks


@SETTINGS
@given(policies(), media_infos())
def test_every_dropped_track_is_listed(policy: Policy, media: MediaInfo) -> None:
    try:
        result = plan(policy, media)
    except PlanError:
        return
    for index in result.dropped:
        assert any(line.startswith("remove ") and f" {index} (" in line for line in result.changes)
    for planned in result.tracks:
        if planned.transcode is not None:
            assert planned.codec == planned.transcode.codec
            assert result.pass_kind is PassKind.FFMPEG
