"""客户旅程 pages: a marketer installs recipes and writes journeys in the YAML editor (every problem listed
with its path, the text kept), drives them through activate, pause and archive, and reads the diagram;
a viewer reads but may not act; the Customer 360 page shows the customer's journeys.

The app's job thread is off, so nothing runs on its own: enrollments and step runs are written into the
app database by the tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from guanxi.appdb.audit import AuditEntry
from guanxi.appdb.roles import Role
from guanxi.config import Settings
from guanxi.identity import resolve
from guanxi.marketing.journey_steps import JourneyStepRun
from guanxi.marketing.journeys import tables as jt
from guanxi.marketing.journeys.recipes import registered_recipes
from guanxi.tables import RAW_CUSTOMERS
from guanxi.web import create_app
from guanxi.web.i18n import catalogues
from guanxi.web.ui.journeys import OUTCOMES, RUN_STATES, STEP_KINDS, TRIGGERS, words

from .conftest import PASSWORD, csrf_of, insert_rows, sign_in

EDITORS = [Role.ADMIN, Role.ANALYST, Role.MARKETER, Role.SALES]

BROKEN = """\
name: 坏的旅程
trigger:
  kind: order_unpaid
  params:
    minutes: 0
steps:
  - name: first
    kind: send
    channels: [sms]
    content:
      sms:
        body: "{{ name "
  - name: wait
    kind: wait
    hourz: 2
  - name: ask
    kind: branch
    event: opened
    then: nowhere
    else: end
"""
"""Four problems: the trigger's minutes, a template that does not compile, an unknown field, a target
that is no step."""


class Shop:
    """An app with its job thread off and a way to sign in as each role."""

    def __init__(self, client: TestClient, add_user: Callable[..., None], now: datetime) -> None:
        self.client = client
        self.add_user = add_user
        self.now = now
        self.sessions: sessionmaker[Session] = client.app.state.guanxi.sessions  # type: ignore[attr-defined]
        self.users: set[Role] = set()

    def as_role(self, role: Role) -> TestClient:
        if role not in self.users:
            self.add_user(role.value, role)
            self.users.add(role)
        self.client.cookies.clear()
        response = sign_in(self.client, role.value, PASSWORD)
        assert response.status_code == 303, response.text
        return self.client

    def post(self, path: str, data: dict[str, Any] | None = None) -> Any:
        token = csrf_of(self.client.get("/journeys").text)
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, follow_redirects=False)

    def install(self, recipe: str) -> str:
        response = self.post("/journeys/install", {"recipe": recipe})
        assert response.status_code == 303, response.text
        location: str = response.headers["location"]
        return location.removeprefix("/journeys/")


@pytest.fixture
def shop(app_settings: Settings, now: datetime, add_user: Callable[..., None]) -> Iterator[Shop]:
    from guanxi.appdb.migrate import upgrade

    upgrade(app_settings)
    with TestClient(create_app(app_settings, clock=lambda: now, background=False)) as client:
        yield Shop(client, add_user, now)


class Svg(HTMLParser):
    """The journey diagram's steps, edges and their texts, read from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[str, list[str]] = {}
        self.edges: list[dict[str, str]] = []
        self.counts: dict[str, dict[str, str]] = {}
        self.svgs = 0
        self._step: str | None = None
        self._count: str | None = None
        self._edge: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "svg" and "journey-diagram" in found.get("class", ""):
            self.svgs += 1
        if tag == "g" and found.get("class") == "journey-step":
            self._step = found["data-step"]
            self.steps[self._step] = []
            self.counts[self._step] = {}
        if tag == "g" and found.get("class") == "journey-edge":
            self._edge = {"from": found["data-from"], "to": found["data-to"], "exit": found["data-exit"]}
            self.edges.append(self._edge)
        if tag == "tspan" and "data-count" in found:
            self._count = found["data-count"]
        if tag == "path" and self._edge is not None:
            self._edge["marker"] = found.get("marker-end", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "g":
            self._step = self._edge = None
        if tag == "tspan":
            self._count = None

    def handle_data(self, data: str) -> None:
        if self._step is not None and self._count is not None:
            self.counts[self._step][self._count] = data
        elif self._step is not None and data.strip():
            self.steps[self._step].append(data.strip())
        elif self._edge is not None and data.strip():
            self._edge["label"] = data.strip()


def diagram_of(html: str) -> Svg:
    parser = Svg()
    parser.feed(html)
    assert parser.svgs == 1, "the page has no journey diagram"
    return parser


def row_of(html: str, key: str) -> str:
    found = re.search(rf'<tr data-journey="{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {key}"
    return found.group(1)


def enroll(
    sessions: sessionmaker[Session],
    key: str,
    customer_id: str,
    now: datetime,
    *,
    state: str = jt.IN_JOURNEY,
    step: str | None = None,
    runs: tuple[tuple[int, str, str, str, str | None], ...] = (),
) -> int:
    """One enrollment (and its step runs ``(index, name, kind, state, outcome)``) written into the app DB."""
    with sessions() as session, session.begin():
        journey = session.scalars(select(jt.Journey).where(jt.Journey.key == key)).one()
        enrollment = jt.JourneyEnrollment(
            journey_key=key,
            version=journey.version,
            customer_id=customer_id,
            occurrence_key=f"{key}:{customer_id}",
            entered_at=now,
            control=state == jt.CONTROL,
            state=state,
            step=step,
        )
        session.add(enrollment)
        session.flush()
        for index, name, kind, run_state, outcome in runs:
            session.add(
                JourneyStepRun(
                    journey_key=key,
                    customer_id=customer_id,
                    enrollment_id=enrollment.id,
                    step_index=index,
                    step_name=name,
                    kind=kind,
                    payload={},
                    due_at=now + timedelta(minutes=index),
                    idempotency_key=f"{key}:{customer_id}:{index}@{enrollment.id}",
                    created_at=now,
                    finished_at=now + timedelta(minutes=index) if run_state == "done" else None,
                    outcome=outcome,
                    state=run_state,
                    next_attempt_at=now,
                )
            )
        return enrollment.id


# ---- words -------------------------------------------------------------------------------------------------


def test_every_computed_word_family_is_complete_in_both_languages() -> None:
    for locale in ("zh-CN", "en"):
        families = words(locale)
        assert set(families["kind"]) == set(STEP_KINDS)
        for family in families.values():
            assert all(not text.startswith("journeys.") for text in family.values()), family
    keys = set(catalogues()["en"])
    for prefix, names in {
        "journeys.status.": jt.STATUSES,
        "journeys.state.": jt.ENROLLMENT_STATES,
        "journeys.trigger.": TRIGGERS,
        "journeys.outcome.": OUTCOMES,
        "journeys.run.": RUN_STATES,
    }.items():
        assert {prefix + n for n in names} <= keys
    assert catalogues()["zh-CN"]["nav.journeys"] == "旅程"
    assert catalogues()["en"]["nav.journeys"] == "Journeys"


# ---- who may do what ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*EDITORS, Role.VIEWER])
def test_every_role_reads_the_list_and_a_journey(shop: Shop, role: Role) -> None:
    shop.as_role(Role.MARKETER)
    key = shop.install("win_back")
    client = shop.as_role(role)
    listing = client.get("/journeys")
    assert listing.status_code == 200
    assert 'href="/journeys" class="active"' in listing.text  # the menu entry 旅程
    assert ">旅程</a>" in listing.text
    page = client.get(f"/journeys/{key}")
    assert page.status_code == 200
    assert "唤醒 Win-back" in page.text
    can_edit = role in EDITORS
    assert ('action="/journeys/install"' in listing.text) is can_edit
    assert (f'action="/journeys/{key}/activate"' in page.text) is can_edit
    assert (f'action="/journeys/{key}/edit"' in page.text) is can_edit


def test_a_viewer_may_not_install_edit_or_drive_a_journey(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    key = shop.install("payment_reminder")
    client = shop.as_role(Role.VIEWER)
    json = {"Accept": "application/json"}
    for path in ("/journeys/new", f"/journeys/{key}/edit", f"/journeys/{key}/archive"):
        response = client.get(path, headers=json)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "permission_denied"
    token = csrf_of(client.get("/journeys").text)
    for path in (
        "/journeys/install",
        "/journeys",
        f"/journeys/{key}/edit",
        f"/journeys/{key}/activate",
        f"/journeys/{key}/pause",
        f"/journeys/{key}/archive",
    ):
        response = client.post(path, data={"csrf_token": token, "recipe": "win_back"}, headers=json)
        assert response.status_code == 403, path
    assert client.get("/v1/journeys").json()[0]["status"] == "draft"


def test_a_form_without_the_csrf_token_is_refused(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    response = client.post(
        "/journeys/install", data={"recipe": "win_back"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert client.get("/v1/journeys").json() == []


# ---- the list and recipes ----------------------------------------------------------------------------------


def test_the_list_offers_every_recipe_and_an_installed_one_is_a_draft(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    listing = client.get("/journeys").text
    assert "还没有旅程" in listing
    assert "从模板新建" in listing
    for recipe in registered_recipes().values():
        assert f'data-recipe="{recipe.key}"' in listing
        assert recipe.name_zh in listing
        assert recipe.summary in listing
    key = shop.install("win_back")
    assert key == "win-back"
    page = client.get("/journeys/win-back").text
    assert "已从模板创建旅程“唤醒 Win-back”（草稿）" in page  # the flash
    row = row_of(client.get("/journeys").text, "win-back")
    assert "草稿" in row
    assert "唤醒 Win-back" in row  # the recipe
    assert "生命周期阶段变化" in row  # the trigger kind in words
    assert shop.install("win_back") == "win-back-2"  # a second install takes the next free key
    with shop.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "journey.create")).first()
        assert entry is not None
        assert entry.actor == "user:marketer"


def test_the_list_counts_enrollments_by_state_with_the_goal_rate(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    key = shop.install("payment_reminder")
    for number, state in enumerate(
        [jt.IN_JOURNEY, jt.IN_JOURNEY, jt.COMPLETED, jt.GOAL, jt.GOAL, jt.GOAL, jt.CONTROL], start=1
    ):
        enroll(shop.sessions, key, str(number), shop.now, state=state)
    row = row_of(client.get("/journeys").text, key)
    cells = dict(re.findall(r'data-count="(\w+)">([^<]+)', row))
    assert cells == {"entered": "7", "active": "2", "completed": "1", "goal": "3 ", "control": "1"}
    assert "50.0%" in row  # 3 of the 6 outside the control group


# ---- the journey page and its diagram ----------------------------------------------------------------------


def test_the_win_back_diagram_has_a_box_per_step_and_the_branch_s_then_and_else(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    key = shop.install("win_back")
    svg = diagram_of(client.get(f"/journeys/{key}").text)
    assert list(svg.steps) == ["coupon", "high_value", "call_task", "wait_14_days", "tag_not_back"]
    assert "唤醒券" in svg.steps["coupon"]
    assert "高价值客户?" in svg.steps["high_value"]
    assert "条件分支" in svg.steps["high_value"]  # the kind
    branch = {e["exit"]: e for e in svg.edges if e["from"] == "high_value"}
    assert set(branch) == {"then", "else"}
    assert (branch["then"]["to"], branch["then"]["label"]) == ("call_task", "是")
    assert (branch["else"]["to"], branch["else"]["label"]) == ("wait_14_days", "否")
    pairs = {(e["from"], e["to"]) for e in svg.edges}
    assert pairs == {
        ("start", "coupon"),
        ("coupon", "high_value"),
        ("high_value", "call_task"),
        ("high_value", "wait_14_days"),
        ("call_task", "wait_14_days"),
        ("wait_14_days", "tag_not_back"),
        ("tag_not_back", "end"),
    }
    assert all(e["marker"] == "url(#journey-arrow)" for e in svg.edges)


def test_each_box_shows_its_step_s_counts_and_the_table_its_outcomes(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    key = shop.install("win_back")
    enroll(
        shop.sessions,
        key,
        "1",
        shop.now,
        step="high_value",
        runs=((0, "coupon", "send", "done", "sent:sms"),),
    )
    enroll(
        shop.sessions,
        key,
        "2",
        shop.now,
        step="wait_14_days",
        runs=(
            (0, "coupon", "send", "done", "no_consent"),
            (1, "high_value", "branch", "done", "else"),
            (3, "wait_14_days", "wait", "pending", None),
        ),
    )
    page = client.get(f"/journeys/{key}").text
    svg = diagram_of(page)
    assert svg.counts["coupon"] == {"here": "0", "done": "2", "waiting": "0"}
    assert svg.counts["high_value"] == {"here": "1", "done": "1", "waiting": "0"}
    assert svg.counts["wait_14_days"] == {"here": "1", "done": "0", "waiting": "1"}
    assert "已发送（sms） 1" in page
    assert "未同意 1" in page
    assert "否 1" in page
    assert "在途" in page


def test_the_rules_are_written_out_in_words(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    page = client.get(f"/journeys/{shop.install('win_back')}").text
    assert "生命周期阶段变化（to_stage = decline / churned，at = 10:00）" in page
    assert "进入后再次购买" in page
    assert "同一客户至少间隔 90 天才能再次进入" in page
    assert "10% 的客户作为对照组，只记录不发送" in page
    reminder = client.get(f"/journeys/{shop.install('payment_reminder')}").text
    assert "下单未付款（minutes = 15）" in reminder
    assert "这笔订单已取消或关闭" in reminder  # the stop condition
    assert "每次触发都进入" in reminder
    assert "21:00–09:00" in reminder
    assert "服务消息" in reminder


def test_a_label_is_escaped_in_the_page_and_the_diagram(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    text = registered_recipes()["holiday_care"].text.replace("label: 节日问候", 'label: "<script>x</script>"')
    response = shop.post("/journeys", {"key": "escaped", "text": text, "action": "save"})
    assert response.status_code == 303, response.text
    page = client.get("/journeys/escaped").text
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script" not in page  # no inline script at all (CSP without unsafe-inline)


# ---- the editor --------------------------------------------------------------------------------------------


def test_the_new_journey_editor_starts_from_a_journey_that_validates(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    editor = client.get("/journeys/new").text
    assert "旅程定义（YAML）" in editor
    text = re.search(r'<textarea name="text"[^>]*>\n(.*?)</textarea>', editor, re.S)
    assert text is not None
    checked = shop.post("/journeys", {"key": "thanks", "text": unescape(text.group(1)), "action": "validate"})
    assert checked.status_code == 200
    assert "有效" in checked.text
    assert client.get("/v1/journeys").json() == []  # validating saves nothing


def unescape(html: str) -> str:
    import html as markup

    return markup.unescape(html)


def test_an_invalid_definition_lists_every_problem_with_its_path_and_keeps_the_text(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    response = shop.post("/journeys", {"key": "broken", "text": BROKEN, "action": "save"})
    assert response.status_code == 422
    paths = re.findall(r'<li data-path="([^"]*)">', response.text)
    assert set(paths) >= {
        "trigger.params.minutes",
        "steps.0.content.sms.body",
        "steps.1.hourz",
        "steps.2.then",
    }
    assert re.search(r"发现 \d+ 个问题", response.text)
    assert "步骤 wait" in response.text  # the step a path points into
    assert unescape(re.search(r"<textarea[^>]*>\n(.*?)</textarea>", response.text, re.S).group(1)) == BROKEN  # type: ignore[union-attr]
    assert 'value="broken"' in response.text
    assert client.get("/journeys/broken", headers={"Accept": "application/json"}).status_code == 404
    checked = shop.post("/journeys", {"key": "broken", "text": BROKEN, "action": "validate"})
    assert checked.status_code == 422
    assert "steps.2.then" in checked.text
    assert "有效：" not in checked.text


def test_yaml_that_does_not_parse_is_reported_with_its_line(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    response = shop.post("/journeys", {"key": "bad", "text": "name: [unclosed\nsteps: x\n", "action": "save"})
    assert response.status_code == 422
    assert re.search(r'data-path="line \d+, column \d+"', response.text)


def test_a_bad_key_is_reported_next_to_the_editor(shop: Shop) -> None:
    shop.as_role(Role.MARKETER)
    text = registered_recipes()["holiday_care"].text
    response = shop.post("/journeys", {"key": "Bad Key", "text": text, "action": "save"})
    assert response.status_code == 422
    assert 'data-path="key"' in response.text


def test_saving_an_edit_makes_a_new_version_and_lists_who_saved_it(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    key = shop.install("holiday_care")
    editor = client.get(f"/journeys/{key}/edit").text
    source = unescape(re.search(r"<textarea[^>]*>\n(.*?)</textarea>", editor, re.S).group(1))  # type: ignore[union-attr]
    assert source == registered_recipes()["holiday_care"].text  # the comments kept
    same = shop.post(f"/journeys/{key}/edit", {"text": source, "action": "save"})
    assert same.status_code == 303
    assert "没有改动" in client.get(f"/journeys/{key}").text
    changed = source.replace("label: 节日问候", "label: 中秋问候")
    saved = shop.post(f"/journeys/{key}/edit", {"text": changed.replace("\n", "\r\n"), "action": "save"})
    assert saved.status_code == 303
    page = client.get(f"/journeys/{key}").text
    assert "已保存为第 2 版" in page
    assert "中秋问候" in diagram_of(page).steps["greetings"]
    versions = client.get(f"/journeys/{key}/edit").text
    assert re.search(r'<tr data-version="2">.*?marketer', versions, re.S)
    assert re.search(r'<tr data-version="1">.*?marketer.*?2026-03-01 17:30', versions, re.S)  # Shanghai time
    old = client.get(f"/journeys/{key}/edit?version=1").text
    assert "label: 节日问候" in old
    assert "第 1 版" in old
    broken = shop.post(f"/journeys/{key}/edit", {"text": BROKEN, "action": "save"})
    assert broken.status_code == 422
    assert "steps.1.hourz" in broken.text


# ---- the controls ------------------------------------------------------------------------------------------


def test_activate_pause_resume_and_archive_through_the_forms(shop: Shop) -> None:
    client = shop.as_role(Role.MARKETER)
    key = shop.install("payment_reminder")
    enroll(shop.sessions, key, "1", shop.now, step="sms_15_minutes")
    assert shop.post(f"/journeys/{key}/activate").status_code == 303
    page = client.get(f"/journeys/{key}").text
    assert "已启用" in page
    assert 'data-status="active">运行中' in page
    assert shop.post(f"/journeys/{key}/pause").status_code == 303
    page = client.get(f"/journeys/{key}").text
    assert 'data-status="paused">已暂停' in page
    assert "补上暂停期间的触发" in page  # resuming offers catching up
    assert shop.post(f"/journeys/{key}/activate", {"catch_up": "1"}).status_code == 303
    assert "已继续" in client.get(f"/journeys/{key}").text
    again = shop.post(f"/journeys/{key}/pause")
    assert again.status_code == 303
    refused = shop.post(f"/journeys/{key}/pause")  # paused already
    assert refused.status_code == 303
    assert "无法暂停" in client.get(f"/journeys/{key}").text
    confirm = client.get(f"/journeys/{key}/archive")
    assert confirm.status_code == 200
    assert "将停止 1 位仍在旅程中的客户" in confirm.text
    assert shop.post(f"/journeys/{key}/archive").status_code == 303
    page = client.get(f"/journeys/{key}").text
    assert "1 位仍在旅程中的客户已停止" in page
    assert 'data-status="archived">已归档' in page
    assert f'action="/journeys/{key}/activate"' not in page  # no buttons on an archived journey
    edit = client.get(f"/journeys/{key}/edit", follow_redirects=False)
    assert edit.status_code == 303
    with shop.sessions() as session:
        actions = [
            (e.action, e.actor)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.target == key).order_by(AuditEntry.id)
            )
        ]
    assert actions == [
        ("journey.create", "user:marketer"),
        ("journey.activate", "user:marketer"),
        ("journey.pause", "user:marketer"),
        ("journey.resume", "user:marketer"),
        ("journey.pause", "user:marketer"),
        ("journey.archive", "user:marketer"),
    ]


def test_an_unknown_journey_is_a_404_page(shop: Shop) -> None:
    client = shop.as_role(Role.VIEWER)
    response = client.get("/journeys/nothing-here")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]


# ---- Customer 360 ------------------------------------------------------------------------------------------


def test_the_customer_360_page_lists_the_customer_s_journeys_and_steps(
    shop: Shop, app_settings: Settings
) -> None:
    warehouse = shop.client.app.state.guanxi.warehouse  # type: ignore[attr-defined]
    insert_rows(
        warehouse,
        RAW_CUSTOMERS,
        [{"source": "crm", "source_customer_id": "c-1", "name": "王伟", "phone": "+8613957781234"}],
    )
    resolve(warehouse, app_settings, now=datetime(2026, 3, 1, 9, 0))
    customer_id = str(warehouse.table("customers").customer_id.max().execute())
    client = shop.as_role(Role.MARKETER)
    empty = client.get(f"/customers/{customer_id}").text
    assert "这位客户还没有进入任何旅程" in empty
    key = shop.install("win_back")
    enroll(
        shop.sessions,
        key,
        customer_id,
        shop.now,
        step="high_value",
        runs=((0, "coupon", "send", "done", "sent:sms"), (1, "high_value", "branch", "pending", None)),
    )
    page = client.get(f"/customers/{customer_id}").text
    section = page[page.index('id="journeys"') :]
    assert f'href="/journeys/{key}">唤醒 Win-back</a>' in section
    assert 'data-state="active">在途' in section
    assert "2026-03-01 17:30" in section  # entered, in Asia/Shanghai
    assert "高价值客户?" in section  # the current step, by its label
    assert "唤醒券 · 已发送（sms）" in section
    assert "待执行" in section
    english = client.get(f"/customers/{customer_id}?lang=en").text
    assert "In journey" in english
