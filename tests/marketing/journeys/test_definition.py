"""Journey definitions: every problem reported at once with its path; recipes all valid; versions kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from guanxi.config import get_settings
from guanxi.marketing.journeys.definition import JourneyInvalidError, load_text, parse_definition, problems_of
from guanxi.marketing.journeys.recipes import find_recipe, registered_recipes
from guanxi.marketing.journeys.runtime import catalogue

BAD = """
name: 坏的旅程
trigger: {kind: order_unpaid, params: {minutes: -5, colour: red}}
goal: {kind: bought_twice}
steps:
  - {name: first, kind: send, channels: [fax], content: {fax: {body: "{{ name "}}}
  - {name: first, kind: wait}
  - {name: loop_a, kind: wait, hours: 1, next: loop_b}
  - {name: loop_b, kind: wait, hours: 1, next: loop_a}
  - {name: fork, kind: branch, event: clicked, then: nowhere}
  - {name: end, kind: exit}
  - {name: odd, kind: teleport}
"""


def test_every_problem_is_reported_with_its_path() -> None:
    found = catalogue(settings=get_settings(env="test"))
    _, problems = problems_of(load_text(BAD), found)
    paths = [path for path, _ in problems]
    for expected in (
        "trigger.params.minutes",
        "trigger.params.colour",
        "goal.kind",
        "steps.0.channels.0",
        "steps.0.content.fax.body",
        "steps.1.name",  # the second "first"
        "steps.1",  # a wait with nothing to wait for
        "steps.4.then",  # no step "nowhere"
        "steps.5.name",  # "end" is reserved
        "steps.6.kind",  # no kind "teleport"
    ):
        assert expected in paths, (expected, problems)
    assert any("loop" in message and path.startswith("steps.") for path, message in problems)
    with pytest.raises(JourneyInvalidError) as caught:
        parse_definition(load_text(BAD), found)
    assert len(caught.value.problems) == len(problems)


def test_a_yaml_error_names_the_line() -> None:
    with pytest.raises(JourneyInvalidError, match="line 3, column 1: not valid YAML"):
        load_text("name: x\nsteps: [\n")


def test_an_unknown_holiday_is_a_problem_only_with_the_settings() -> None:
    text = (
        "name: x\ntrigger: {kind: holiday, params: {holiday: 不存在的节}}\nsteps: [{name: a, kind: exit}]\n"
    )
    assert problems_of(load_text(text), catalogue())[1] == []
    problems = problems_of(load_text(text), catalogue(settings=get_settings(env="test")))[1]
    assert [path for path, _ in problems] == ["trigger.params.holiday"]


def test_every_recipe_is_valid_and_found_by_its_names() -> None:
    found = catalogue(settings=get_settings(env="test"))
    recipes = registered_recipes()
    assert list(recipes) == [
        "payment_reminder", "care", "birthday_care", "holiday_care", "second_purchase", "win_back", "warm_up",
        "research",
    ]  # fmt: skip
    for recipe in recipes.values():
        definition = parse_definition(load_text(recipe.text), found)
        assert definition.name.startswith(recipe.name_zh[-2:]), recipe.key
    assert find_recipe("催付", recipes).key == "payment_reminder"
    assert find_recipe("Win-back", recipes).key == "win_back"


def test_an_edited_journey_is_a_new_version_and_entered_customers_keep_theirs(journeys: object) -> None:
    from tests.marketing.journeys.conftest import Journeys, add_orders, order

    assert isinstance(journeys, Journeys)
    journeys.clock.at_local("2026-11-01 09:00")
    key = journeys.install("payment_reminder")
    add_orders(journeys.warehouse, order("O1", 2, "unpaid", "2026-11-01 10:00"))
    journeys.at("2026-11-01 10:16")
    edited = find_recipe("催付", registered_recipes()).text.replace("宝贝已为您预留", "新版话术")
    from guanxi.marketing.journeys import service

    with journeys.sessions() as session, session.begin():
        journey = service.save_journey(
            session, key, edited, actor="test", now=datetime.now(UTC), catalogue=catalogue()
        )
        assert journey.version == 2
        again = service.save_journey(
            session, key, edited, actor="test", now=datetime.now(UTC), catalogue=catalogue()
        )
        assert again.version == 2  # unchanged: no new version
        assert [v.version for v in service.versions(session, journey)] == [2, 1]
        assert "新版话术" in service.source_of(session, journey)
        assert "# 催付" in service.source_of(session, journey, 1)  # comments kept
    add_orders(journeys.warehouse, order("O2", 4, "unpaid", "2026-11-01 10:10"))
    journeys.at("2026-11-01 10:26")
    assert [(e.occurrence_key, e.version) for e in journeys.enrollments(key)] == [
        ("shop:O1", 1),
        ("shop:O2", 2),
    ]


def test_pause_stops_steps_and_archive_stops_customers(journeys: object) -> None:
    from guanxi.marketing.journeys import service
    from tests.marketing.journeys.conftest import Journeys, add_orders, order

    assert isinstance(journeys, Journeys)
    journeys.clock.at_local("2026-11-01 09:00")
    key = journeys.install("payment_reminder")
    add_orders(journeys.warehouse, order("O1", 2, "unpaid", "2026-11-01 10:00"))
    journeys.at("2026-11-01 10:16")
    with journeys.sessions() as session, session.begin():
        service.pause(session, key, actor="test", now=journeys.clock())
        with pytest.raises(service.JourneyStateError, match="only an active one"):
            service.pause(session, key, actor="test", now=journeys.clock())
    journeys.at("2026-11-01 12:01")
    assert len(journeys.sent(key)) == 1  # paused: the 2-hour reminder waits
    with journeys.sessions() as session, session.begin():
        assert service.archive(session, key, actor="test", now=journeys.clock()) == 1
        status = service.status(session, key, catalogue())
        assert (status.counts.entered, status.counts.stopped) == (1, 1)
        with pytest.raises(service.JourneyStateError):
            service.activate(session, key, actor="test", now=journeys.clock())
    journeys.at("2026-11-02 10:00")
    assert len(journeys.sent(key)) == 1
