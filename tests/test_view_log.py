"""The view log (issue 22 item 3): every page or file of residents' data a person reads
leaves exactly one ViewEvent naming who, what and how much, never what was read; admins
alone read it, filter it by user, object, action, project and date, page through it by
keyset, and take it out as CSV."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.exc import DBAPIError

from surveyapp import operations, queries
from surveyapp.domain.labels import answered_questions
from surveyapp.extensions import db
from surveyapp.models import Project, Response, User, ViewEvent
from surveyapp.operations import audit
from surveyapp.queries.audit import ViewFilters
from surveyapp.staff.view_log import ACTION_LABELS
from tests.helpers import (LIGHTS, POLICE, analyst_client, member, question_source, run,
                           signed_in)


def last_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(ViewEvent.id))) or 0


def views_since(app, after: int) -> list[ViewEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(ViewEvent).where(ViewEvent.id > after)
                                  .order_by(ViewEvent.id)).all()
        db.session.expunge_all()
        return rows


def read_once(app, client, url) -> tuple:
    """GET ``url``; it must succeed and leave exactly one view event, returned."""
    before = last_id(app)
    reply = client.get(url)
    assert reply.status_code == 200, (url, reply.status_code)
    events = views_since(app, before)
    assert len(events) == 1, (url, [e.action for e in events])
    return reply, events[0]


def row_text(event: ViewEvent) -> str:
    return " ".join(str(getattr(event, c.name)) for c in ViewEvent.__table__.columns)


def assert_no_content(event: ViewEvent) -> None:
    """Nothing a resident wrote reaches the row: not a text, not one of its words."""
    text = row_text(event).lower()
    for answer in LIGHTS + POLICE:
        assert answer.lower() not in text
    for word in ("street", "lights", "patrols", "dark"):
        assert word not in text, (word, text)


def test_view_actions_each_have_a_label():
    assert set(ACTION_LABELS) == set(audit.VIEW_ACTIONS)


def test_viewed_records_who_what_and_how_much(app):
    with app.app_context():
        project = operations.transaction(lambda: operations.staff.create_project("Council"))
        operations.transaction(lambda: audit.viewed(
            "dashboard.read", project, actor="cli", ip="203.0.113.9", count=7, scope="community-capacity"))
        with pytest.raises(ValueError, match="unknown view action"):
            audit.viewed("response.peeked", project, actor="cli", ip=None)
        db.session.rollback()
        [event] = db.session.scalars(sa.select(ViewEvent)).all()
        assert (event.action, event.actor, event.user_id, event.object_kind, event.object_id,
                event.project_id, event.scope, event.count) == (
            "dashboard.read", "cli", None, "project", str(project.id), project.id,
            "community-capacity", 7)
        assert event.at is not None and len(event.ip_hash) == 32 and "203.0.113.9" not in event.ip_hash


@pytest.mark.parametrize("statement", ["UPDATE view_events SET actor = 'someone else'",
                                       "DELETE FROM view_events"])
def test_the_database_refuses_to_change_or_delete_a_view_event(app, statement):
    with app.app_context():
        operations.transaction(lambda: audit.viewed("views.export", ("view_log", "", None),
                                                    actor="cli", ip=None))
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(sa.text(statement))
            db.session.flush()
        db.session.rollback()
        assert db.session.scalar(sa.select(ViewEvent.actor)) == "cli"


# ----------------------------------------------------------------------------- the reading routes

def test_each_reading_route_records_one_event_with_its_object_and_count(app, project):
    ids = project
    pid, cid, sid = ids["project_id"], ids["campaign_id"], ids["session_id"]
    run(app, question_source(ids))
    analyst = analyst_client(app)
    with app.app_context():
        analyst_id = db.session.scalar(sa.select(User.id).where(User.email == "analyst@example.org"))
        response = db.session.get(Response, ids["responses"][0])
        instrument = queries.instruments.instrument_of(response.instrument_version)
        with force_locale("en"):
            answers_shown = len(answered_questions(instrument, response.answers, "en", other_label="Other"))
    assert answers_shown > 0

    expected = [
        (f"/staff/campaigns/{cid}/responses/{ids['responses'][0]}",
         ("response.read", "response", str(ids["responses"][0]), None, answers_shown)),
        (f"/staff/campaigns/{cid}/responses", ("responses.list", "campaign", str(cid), None, 12)),
        (f"/staff/focus-groups/{sid}/prompts/{ids['prompt_id']}",
         ("transcript.read", "focus_group", str(sid), ids["prompt_id"], len(LIGHTS + POLICE))),
        (f"/staff/projects/{pid}/themes/community-capacity/safer_ideas?campaign={cid}",
         ("themes.read", "question", "community-capacity/safer_ideas", str(cid), 12)),
        (f"/staff/campaigns/{cid}/results/preview", ("results.preview", "campaign", str(cid), None, None)),
        (f"/staff/campaigns/{cid}/results", ("results.read", "campaign", str(cid), None, None)),
        (f"/staff/campaigns/{cid}/export", ("export.download", "campaign", str(cid), "xlsx", 12)),
        (f"/staff/campaigns/{cid}/export?format=csv", ("export.download", "campaign", str(cid), "csv", 12)),
    ]
    for url, (action, kind, object_id, scope, count) in expected:
        reply, event = read_once(app, analyst, url)
        assert (event.action, event.object_kind, event.object_id, event.scope) == (
            action, kind, object_id, scope), url
        if count is not None:
            assert event.count == count, (url, event.count)
        else:
            assert event.count is not None and event.count >= 0, url
        assert (event.user_id, event.actor, event.project_id) == (
            analyst_id, "analyst@example.org", pid), url
        assert event.ip_hash, url
        assert_no_content(event)
    # The page did show the words the event leaves out (so the check above means something).
    page = analyst.get(f"/staff/projects/{pid}/themes/community-capacity/safer_ideas?campaign={cid}")
    assert LIGHTS[0] in page.text

    # Aggregate pages, read by the analyst and by a partner of the project alike.
    partner = member(app, "partner@example.org", "partner", "Council")
    for client, email in ((analyst, "analyst@example.org"), (partner, "partner@example.org")):
        for url, action, kind, object_id in (
                (f"/staff/projects/{pid}/dashboard", "dashboard.read", "project", str(pid)),
                (f"/staff/campaigns/{cid}/dashboard", "dashboard.read", "campaign", str(cid)),
                (f"/staff/projects/{pid}/capacity", "capacity.read", "project", str(pid)),
                (f"/staff/projects/{pid}/themes/summary", "themes.summary", "project", str(pid))):
            _reply, event = read_once(app, client, url)
            assert (event.action, event.object_kind, event.object_id, event.actor,
                    event.project_id) == (action, kind, object_id, email, pid), url
            assert event.count is not None, url
            if action == "dashboard.read":
                assert event.scope == "community-capacity" and event.count >= 3
            assert_no_content(event)


def test_a_job_download_records_the_campaign_the_file_holds(app, make_campaign):
    """An export started as a job is recorded when its file is downloaded (not when it is
    started or its page polled): the campaign, the job, the responses in the file."""
    from surveyapp.jobs import thread_backend
    from tests.helpers import _clients, hidden, seed
    data = seed(app, make_campaign)
    clients = _clients(app)
    page = clients["analyst"].get(f"/staff/campaigns/{data['campaign_id']}")
    before = last_id(app)
    reply = clients["analyst"].post(f"/staff/campaigns/{data['campaign_id']}/export-job", data={
        "csrf_token": hidden(page.text, "csrf_token"), "status": "complete"})
    job_id = int(reply.headers["Location"].rstrip("/").split("/")[-1])
    thread_backend.wait_idle()
    assert clients["analyst"].get(f"/staff/jobs/{job_id}/status").get_json()["state"] == "done"
    assert views_since(app, before) == []
    _reply, event = read_once(app, clients["analyst"], f"/staff/jobs/{job_id}/download")
    with app.app_context():
        project_id = db.session.scalar(sa.text("SELECT project_id FROM campaigns WHERE id = :id"),
                                       {"id": data["campaign_id"]})
    assert (event.action, event.object_kind, event.object_id, event.scope, event.count,
            event.actor, event.project_id) == (
        "export.download", "campaign", str(data["campaign_id"]), f"job {job_id}", 3,
        "analyst@example.org", project_id)


def test_a_page_whose_reading_cannot_be_recorded_is_not_shown(app, project):
    """The event commits before the page is drawn: a failed write fails the page, which
    shows nothing (fail closed: a read nobody will know of is what the record is for)."""
    ids = project
    analyst = analyst_client(app)
    url = f"/staff/campaigns/{ids['campaign_id']}/responses/{ids['responses'][0]}"
    assert LIGHTS[0] in analyst.get(url).text
    postgres = db_dialect(app) == "postgresql"
    refuse = ([FULL_FUNCTION, "CREATE TRIGGER view_events_full BEFORE INSERT ON view_events "
                              "FOR EACH ROW EXECUTE FUNCTION view_events_full()"] if postgres else
              ["CREATE TRIGGER view_events_full BEFORE INSERT ON view_events "
               "BEGIN SELECT RAISE(ABORT, 'disk full'); END"])
    with app.app_context():
        for statement in refuse:
            db.session.execute(sa.text(statement))
        db.session.commit()
    before = last_id(app)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        reply = analyst.get(url)
        assert reply.status_code == 500 and LIGHTS[0] not in reply.text
        assert views_since(app, before) == []
    finally:  # the PostgreSQL schema outlives this test
        with app.app_context():
            db.session.execute(sa.text("DROP TRIGGER view_events_full" + (" ON view_events" if postgres else "")))
            if postgres:
                db.session.execute(sa.text("DROP FUNCTION view_events_full()"))
            db.session.commit()


FULL_FUNCTION = """CREATE FUNCTION view_events_full() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'disk full'; END; $$ LANGUAGE plpgsql"""


def db_dialect(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


# ----------------------------------------------------------------------------- the admin page

@pytest.fixture
def logged(app):
    """320 view events over 4 users, 3 actions, 2 projects and 16 days, inserted in bulk;
    returns their (at, id) ordering facts."""
    start = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
    rows = []
    for n in range(320):
        rows.append(dict(
            at=start + dt.timedelta(hours=n * 1.2) if n % 7 else start + dt.timedelta(hours=(n - 1) * 1.2),
            user_id=n % 4 + 100, actor=f"user{n % 4}@example.org",
            action=("response.read", "dashboard.read", "export.download")[n % 3],
            object_kind="response" if n % 3 == 0 else "campaign",
            object_id=str(n if n % 3 == 0 else n % 5), project_id=n % 2 + 1, scope=None,
            count=n, ip_hash=None))
    with app.app_context():
        db.session.execute(sa.insert(ViewEvent), rows)
        db.session.commit()
        ids = dict(db.session.execute(sa.select(ViewEvent.count, ViewEvent.id)).all())
    for row in rows:  # the order of equal times is the order of ids, whatever they are
        row["id"] = ids[row["count"]]
    return rows


def all_pages(client, query: str) -> list[tuple[str, str]]:
    """Walk the page from the newest to the oldest by its Older links, then back to the
    newest by its Newer links; return the (when, count) cells seen going down."""
    import re
    url = f"/staff/audit/views?{query}"
    down, visited = [], []
    while url:
        reply = client.get(url)
        assert reply.status_code == 200
        cells = re.findall(r"<tr><td>([^<]+)</td><td>[^<]+</td><td>[^<]+</td><td>.*?</td><td>.*?</td>"
                           r'<td class="num">([^<]*)</td></tr>', reply.text)
        down.extend(cells)
        visited.append(cells)
        older = re.search(r'href="([^"]+)" rel="next"', reply.text)
        url = older.group(1).replace("&amp;", "&") if older else None
        assert "offset" not in (url or "")
    # And back up: the Newer links give the same pages in reverse.
    up = []
    reply_text = reply.text
    while True:
        newer = re.search(r'href="([^"]+)" rel="prev"', reply_text)
        if not newer:
            break
        reply_text = client.get(newer.group(1).replace("&amp;", "&")).text
        up.append(re.findall(r"<tr><td>([^<]+)</td><td>[^<]+</td><td>[^<]+</td><td>.*?</td><td>.*?</td>"
                             r'<td class="num">([^<]*)</td></tr>', reply_text))
    assert up == visited[:-1][::-1]
    return down


def expected(rows, **match) -> list[tuple[str, str]]:
    chosen = [(r["at"], r["id"], r) for r in rows
              if all(match_one(r, k, v) for k, v in match.items())]
    chosen.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [(at.strftime("%Y-%m-%d %H:%M:%S"), str(r["count"])) for at, _i, r in chosen]


def match_one(row, key, value) -> bool:
    if key == "since":
        return row["at"].date() >= value
    if key == "until":
        return row["at"].date() <= value
    return row[key] == value


@pytest.mark.parametrize("query, match", [
    ("", {}),
    ("user=101", {"user_id": 101}),
    ("action=export.download", {"action": "export.download"}),
    ("kind=campaign&object=3", {"object_kind": "campaign", "object_id": "3"}),
    ("kind=response&object=42", {"object_kind": "response", "object_id": "42"}),
    ("project=2&action=dashboard.read", {"project_id": 2, "action": "dashboard.read"}),
    ("since=2026-11-05&until=2026-11-09", {"since": dt.date(2026, 11, 5), "until": dt.date(2026, 11, 9)}),
    ("user=102&since=2026-11-10", {"user_id": 102, "since": dt.date(2026, 11, 10)}),
])
def test_filters_and_keyset_pages_give_every_matching_event_once_newest_first(app, logged, query, match):
    admin = signed_in(app, "boss@example.org", "admin")
    want = expected(logged, **match)
    assert want  # each filter matches something
    assert all_pages(admin, query) == want
    page = admin.get(f"/staff/audit/views?{query}").text
    assert f"{len(want)} events" in page or f"{len(want)} event" in page


def test_the_count_stops_at_the_cap(app, logged):
    with app.app_context():
        assert queries.audit.count_view_events(ViewFilters(), cap=100) == 101
        assert queries.audit.count_view_events(ViewFilters(user_id=100), cap=100) == 80


def test_a_cursor_naming_no_event_gives_the_newest_page(app, logged):
    with app.app_context():
        first = queries.audit.view_events(ViewFilters(), per_page=10)
        assert queries.audit.view_events(ViewFilters(), before=10 ** 8, per_page=10).events == first.events
        assert first.newer is None and first.older == first.events[-1].id


@pytest.mark.parametrize("query", ["user=abc", "action=response.peeked", "kind=secret",
                                   "object=5", "since=yesterday", "project=1e9"])
def test_a_bad_filter_is_refused_with_a_message_not_an_error(app, logged, query):
    admin = signed_in(app, "boss@example.org", "admin")
    reply = admin.get(f"/staff/audit/views?{query}")
    assert reply.status_code == 200 and 'class="flash"' in reply.text
    assert admin.get(f"/staff/audit/views.csv?{query}").status_code == 302


def test_the_csv_holds_the_filtered_events_and_its_download_is_recorded(app, logged):
    admin = signed_in(app, "boss@example.org", "admin")
    before = last_id(app)
    reply = admin.get("/staff/audit/views.csv?user=103&action=response.read")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(reply.data.decode("utf-8-sig"))))
    want = expected(logged, user_id=103, action="response.read")
    assert [(r["at"][:19].replace("T", " "), r["count"]) for r in table] == want
    assert {r["actor"] for r in table} == {"user3@example.org"}
    [event] = views_since(app, before)
    assert (event.action, event.object_kind, event.count, event.actor) == (
        "views.export", "view_log", len(want), "boss@example.org")


def test_the_csv_escapes_formulas(app):
    with app.app_context():
        operations.transaction(lambda: audit.viewed(
            "dashboard.read", ("campaign", "=HYPERLINK(\"x\")", None), actor="@evil", ip=None))
    admin = signed_in(app, "boss@example.org", "admin")
    text = admin.get("/staff/audit/views.csv").data.decode("utf-8-sig")
    assert '"=HYPERLINK' not in text and '"@evil' not in text


def test_only_admins_read_the_view_log(app, logged):
    for role in ("analyst", "facilitator", "partner"):
        client = signed_in(app, f"{role}@example.org", role)
        for url in ("/staff/audit/views", "/staff/audit/views.csv"):
            assert client.get(url).status_code == 403, (role, url)
    assert app.test_client().get("/staff/audit/views").status_code in (302, 401)
    admin = signed_in(app, "boss@example.org", "admin")
    assert admin.get("/staff/audit/views").status_code == 200
    assert "/staff/audit/views" in admin.get("/staff/audit").text


def test_the_view_log_page_reads_a_project_by_name(app):
    with app.app_context():
        project = operations.transaction(lambda: operations.staff.create_project("Council"))
        operations.transaction(lambda: audit.viewed("dashboard.read", project, actor="cli", ip=None))
        project_id = project.id
    admin = signed_in(app, "boss@example.org", "admin")
    page = admin.get(f"/staff/audit/views?project={project_id}").text
    assert "Council" in page and "Read a dashboard" in page
    with app.app_context():
        assert db.session.get(Project, project_id) is not None


def test_pages_follow_by_keyset_never_by_offset(app, logged):
    """Every statement the page sends skips no rows: an OFFSET, if the dialect writes one,
    is 0 (OFFSET n reads and throws away n rows: 21 ms at 500,000 deep on SQLite, against
    0.4 ms by keyset; bench/audit_views.py)."""
    admin = signed_in(app, "boss@example.org", "admin")
    with app.app_context():
        oldest_shown = queries.audit.view_events(ViewFilters(), per_page=50).older
        engine = db.engine
    sent = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        reply = admin.get(f"/staff/audit/views?before={oldest_shown}&user=101")
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert reply.status_code == 200 and reply.text.count("<tr><td>") == 50
    reads = [(s, p) for s, p in sent if "view_events" in s]
    assert len(reads) >= 3  # the cursor's position, the page, the count
    for statement, parameters in reads:
        if "OFFSET" in statement.upper():
            values = list(parameters.values()) if isinstance(parameters, dict) else list(parameters)
            assert values[-1] == 0, (statement, parameters)


def test_a_double_coding_sample_read_is_recorded(app, project):
    """The coder's page and the results page show a sample's texts: each read is one event."""
    import re
    from tests.helpers import csrf, page_url
    run(app, question_source(project))
    analyst = analyst_client(app)
    member(app, "second@example.org", "analyst", "Council")
    with app.app_context():
        coders = [str(i) for i in db.session.scalars(sa.select(User.id).where(
            User.email.in_(["analyst@example.org", "second@example.org"])))]
    base, _, query = page_url(project).partition("?")
    url = f"{base}/coding?{query}"
    reply = analyst.post(url, data={"csrf_token": csrf(analyst, url), "size": "12", "seed": "7",
                                    "coders": coders})
    sample = int(re.search(r"/coding/(\d+)", reply.headers["Location"]).group(1))
    for url in (f"{base}/coding/{sample}/code?{query}", f"{base}/coding/{sample}?{query}"):
        _reply, event = read_once(app, analyst, url)
        assert (event.action, event.object_kind, event.object_id, event.scope, event.count) == (
            "themes.read", "question", "community-capacity/safer_ideas", f"sample {sample}", 12), url
        assert_no_content(event)
