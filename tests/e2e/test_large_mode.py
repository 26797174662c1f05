"""长辈版 (large mode) at 390x844, measured in the browser: every text a volunteer reads is at
least 18 px, the notices link is a labelled target of at least 44 x 44 px, and English labels
(the bottom navigation's "Leaderboard" among them) never break inside a word."""
from __future__ import annotations

import re

import pytest

#: The volunteer's pages, in the order of a day: home with the shift on now, the shift and its
#: route, points, the store and the card, the board, badges, notices, tips and the profile.
VOLUNTEER_PAGES = ["/", "/shifts", "/shifts/{shift_id}", "/points", "/store", "/store/card", "/store/mine",
                   "/leaderboard", "/badges", "/notices", "/tips/new", "/tips/mine", "/profile"]

#: Every element that holds text of its own, visible, with its computed font size.
SMALL_TEXT = """(limit) => {
  const small = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || el.closest('[aria-hidden=true], .skip, .sr-only')) continue;
    const size = parseFloat(style.fontSize);
    if (size < limit) small.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ${size}px "${el.textContent.trim().slice(0, 30)}"`);
  }
  return small;
}"""

#: Words of the navigation, the buttons and the tabs that run over two lines: Latin words
#: anywhere there, and in the top bar and the bottom navigation any word ("中文" too).
BROKEN_WORDS = """() => {
  const broken = [];
  const check = (el, pattern) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(pattern)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${match[0]}"`);
      }
    }
  };
  document.querySelectorAll('.btn, button, .tab, .quick a, h1, h2').forEach(el => check(el, /[A-Za-z]{2,}/g));
  document.querySelectorAll('.topbar a, .topbar button, .bottomnav a').forEach(el => check(el, /[^\\s\\u00a0]{2,}/g));
  return broken;
}"""


def _large_volunteer(live_server, *, language: str):
    """A volunteer in 长辈版 on a shift that is running, with a route, points, a badge and an
    unread notice: every part of the pages that has text is there to measure."""
    from datetime import timedelta

    from volunteer_app.models import Team, User
    from volunteer_app.services import checkpoints, ledger, notices, shifts
    from volunteer_app.timeutil import utcnow

    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="湖滨巡逻队", team_role="coordinator")
    person = live_server.make_user(team="湖滨巡逻队", display_name="周桂芳")
    with live_server.session() as session:
        actor = session.get(User, coordinator.id)
        team_id = session.exec(Team.__table__.select().where(Team.name == "湖滨巡逻队")).first().id
        stops = [checkpoints.create(session, actor, name=name, points=2, team_id=team_id) for name in ("北山街口", "断桥")]
        now = utcnow()
        shift = shifts.create_shifts(session, actor, team_id=team_id, title="湖滨早巡",
                                     starts_at=now + timedelta(minutes=20), ends_at=now + timedelta(hours=2),
                                     capacity=3, checkpoint_ids=[stop.id for stop in stops], points_per_hour=10)[0]
        shifts.signup(session, session.get(User, person.id), shift.id)
        ledger.post(session, person.id, 35, "award", f"e2e-large:{person.id}", reason="湖滨早巡")
        notices.notify(session, person.id, "award", "您获得了表彰：月度之星")
        user = session.get(User, person.id)
        user.large_mode, user.language = True, language
        session.add(user)
        shift_id = shift.id
    return person, shift_id


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_large_mode_text_is_at_least_18px(new_page, live_server, journey, language):
    person, shift_id = _large_volunteer(live_server, language=language)
    page = new_page(person)
    for path in VOLUNTEER_PAGES:
        path = path.format(shift_id=shift_id)
        with journey.step(f"large {language} {path}", page):
            page.goto(path)
            assert page.evaluate("() => document.body.classList.contains('large')")
            small = page.evaluate(SMALL_TEXT, 18)
            assert not small, f"text under 18 px on {path}: " + "; ".join(small[:12])


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_large_mode_notices_link_is_a_labelled_44px_target(new_page, live_server, journey, language):
    person, _shift_id = _large_volunteer(live_server, language=language)
    page = new_page(person)
    with journey.step(f"notices link {language}", page):
        page.goto("/")
        bell = page.locator(".topbar a[href$='/notices']")
        box = bell.bounding_box()
        assert box and box["width"] >= 44 and box["height"] >= 44, box
        word = "通知" if language == "zh_CN" else "Notices"
        assert word in bell.inner_text()  # a word beside the envelope, not the icon alone
        named = page.get_by_role("link", name=re.compile("^" + word))  # its accessible name starts with the word
        assert named.count() == 1 and named.get_attribute("href") == bell.get_attribute("href")
        assert box["x"] + box["width"] <= 390 and box["x"] >= 0
        hidden = bell.locator(".sr-only").bounding_box()  # the count's words are for screen readers
        assert hidden is None or (hidden["width"] <= 1 and hidden["height"] <= 1), hidden


@pytest.mark.parametrize(("language", "large"), [("en", True), ("en", False), ("zh_CN", True)])
def test_labels_never_break_inside_a_word(new_page, live_server, journey, language, large):
    person, _shift_id = _large_volunteer(live_server, language=language)
    if not large:
        from volunteer_app.models import User
        with live_server.session() as session:
            session.get(User, person.id).large_mode = False
    page = new_page(person)
    mode = "large" if large else "standard"
    for path in ("/", "/leaderboard", "/shifts", "/store", "/profile"):
        with journey.step(f"{language} {mode} {path}", page):
            page.goto(path)
            if path == "/" and language == "en":
                assert page.locator(".quick a", has_text="Leaderboard").count() == 1
            broken = page.evaluate(BROKEN_WORDS)
            assert not broken, f"words broken over two lines on {path}: " + "; ".join(broken[:12])
