"""Tips and hazards (线索与隐患): report, triage, review, close, photos.

The life of a tip::

    submitted --triage--> triaged --review--> verified | rejected --close--> closed
        |                    |  ^                                      ^
        |                    +--+ (re-triage: change colour/due date)  |
        +--review--> verified | rejected       triaged --close---------+

* **Triage** (coordinator of the reporter's team, admin) puts a tip on the three-colour list:
  red (handled at once), yellow (followed up, with a return visit a calendar month after
  triage: ``follow_up_at``), blue (closed by a deadline). It is allowed while the tip is
  ``submitted`` or ``triaged`` (a second triage changes the colour or the due date); after a
  review it is 409 ``already_reviewed``; on a closed tip 409 ``conflict``.
* **Review** decides once whether the tip was valid. It is allowed from ``submitted`` (an
  urgent fraud tip may be confirmed before anyone colours it) and ``triaged``. A second review
  is 409 ``already_reviewed``, also when two coordinators press the button at the same moment:
  the tip row is locked first, so the later one sees the first one's decision. A valid tip's
  points (default per category: the ``TIP_POINTS`` setting) are ONE ledger entry of kind
  ``tip`` whose ``ref`` is ``tip:<id>`` (unique: a second award is impossible). Nobody reviews
  their own tip (403).
* **Close** records the resolution. **Closing before triage is refused** (409 ``conflict``):
  a tip leaves the list only after someone has assessed it, so every closed tip carries a
  colour or a review decision; to drop a worthless tip at once, review it as not valid and
  then close it. Closing is allowed from ``triaged``, ``verified`` and ``rejected``; a closed
  tip is final (every further step is 409 ``conflict``).

Who sees what: a tip and who sent it are seen only by the reporter, the coordinators of a team
the reporter belongs to, and the station's admins; anyone else gets 403 (another station's
tip: 404). Staff steps are audited in their own transaction.

Photos: JPEG or PNG, read and re-encoded by ``services.images`` (at most 5 MB, no metadata
kept), resized to ``MAX_SIDE`` on the longest side; at most three per tip, added by the
reporter until the tip is reviewed.
"""
from __future__ import annotations

from calendar import monthrange
from datetime import datetime, timedelta
from pathlib import Path

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..parsing import BadValue, is_id, parse_id
from ..models.base import GRID_LENGTH
from ..models import TIP_CATEGORIES, TIP_LEVELS, TIP_STATUSES, LedgerEntry, Notice, TeamMembership, Tip, TipPhoto, User
from ..settings import setting
from ..timeutil import as_utc, isoformat, local, station_tz, utcnow
from . import access, audit, images, ledger, notices, outbox

MAX_PHOTO_BYTES = images.MAX_UPLOAD_BYTES
MAX_PHOTOS = 3
MAX_SIDE = 1600
MAX_POINTS = 1000
#: Days to the due date when triage names none.
DEFAULT_DUE_DAYS = {"red": 1, "yellow": 7, "blue": 14}
REVIEWABLE = ("submitted", "triaged")
CLOSABLE = ("triaged", "verified", "rejected")

CATEGORY_LABELS = {
    "dispute": _l("Dispute"),
    "fraud": _l("Fraud"),
    "hazard": _l("Safety hazard"),
    "ecology": _l("Ecology"),
    "other": _l("Other"),
}
STATUS_LABELS = {
    "submitted": _l("Received"),
    "triaged": _l("Being handled"),
    "verified": _l("Verified"),
    "rejected": _l("Not confirmed"),
    "closed": _l("Closed"),
}
LEVEL_LABELS = {"red": _l("Red: at once"), "yellow": _l("Yellow: follow up"), "blue": _l("Blue: by a deadline")}


# --- settings -------------------------------------------------------------------------------

def default_points(category: str) -> int:
    """The points a valid tip of ``category`` earns unless the reviewer says otherwise."""
    spec = setting("TIP_POINTS") or ""
    for part in str(spec).split(","):
        name, _sep, points = part.strip().partition(":")
        if name.strip() == category:
            try:
                return max(0, min(int(points), MAX_POINTS))
            except ValueError:
                return 0
    return 0


def add_month(value: datetime) -> datetime:
    """The same station-local time a calendar month later (31 Jan -> 28/29 Feb)."""
    here = local(value)
    year, month = (here.year + 1, 1) if here.month == 12 else (here.year, here.month + 1)
    day = min(here.day, monthrange(year, month)[1])
    return as_utc(here.replace(year=year, month=month, day=day, tzinfo=None).replace(tzinfo=station_tz()))


# --- visibility -----------------------------------------------------------------------------

def can_view(session: Session, actor: User, tip: Tip) -> bool:
    if tip.station_id != actor.station_id:
        return False
    if tip.reporter_id == actor.id:
        return True
    area = access.assistant_area(actor)
    if area is not None and tip.grid == area:
        return True  # a police assistant, for the tips of their area
    return can_manage(session, actor, tip)


def can_manage(session: Session, actor: User, tip: Tip) -> bool:
    """Admins of the station and coordinators of a team the reporter belongs to."""
    if tip.station_id != actor.station_id or not actor.has_role("coordinator"):
        return False
    if actor.is_admin:
        return True
    teams = access.coordinated_team_ids(session, actor)
    if not teams:
        return False
    return session.exec(select(TeamMembership.id).where(
        TeamMembership.user_id == tip.reporter_id, TeamMembership.team_id.in_(teams))).first() is not None


def _load(session: Session, actor: User, tip_id: int, *, lock: bool = False) -> Tip:
    if not is_id(tip_id):
        raise DomainError("not_found", _l("No such tip."))
    stmt = select(Tip).where(Tip.id == tip_id)
    if lock:  # hold the row until commit: parallel staff steps on one tip run one after another
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    tip = session.exec(stmt).first()
    if tip is None or tip.station_id != actor.station_id:
        raise DomainError("not_found", _l("No such tip."))
    return tip


def get_tip(session: Session, actor: User, tip_id: int) -> Tip:
    """A tip the actor may see (403 for anyone else in the station)."""
    tip = _load(session, actor, tip_id)
    if not can_view(session, actor, tip):
        access.forbid(_l("Only the person who sent this tip and their coordinators may see it."))
    return tip


def withheld_reporters(session: Session, actor: User, rows: list[Tip]) -> set[int]:
    """The ids of the tips among ``rows`` (all visible to ``actor``) whose sender ``actor`` may
    not know. Nobody but the reporter and those who handle the tip learns who sent it: a police
    assistant reads the tips of their area without their senders."""
    if actor.is_admin:
        return set()
    others = [tip for tip in rows if tip.reporter_id != actor.id]
    teams = access.coordinated_team_ids(session, actor) if others and actor.has_role("coordinator") else set()
    known = set()
    if teams:
        known = set(session.exec(select(TeamMembership.user_id).where(
            TeamMembership.team_id.in_(teams), TeamMembership.user_id.in_({tip.reporter_id for tip in others}))))
    return {tip.id for tip in others if tip.reporter_id not in known}


def _get_for_staff(session: Session, actor: User, tip_id: int) -> Tip:
    access.require_role(actor, "coordinator")
    tip = _load(session, actor, tip_id, lock=True)
    if not can_manage(session, actor, tip):
        access.forbid(_l("Only the coordinators of the reporter's team may handle this tip."))
    return tip


def _visible_filter(session: Session, actor: User, stmt):
    stmt = stmt.where(Tip.station_id == actor.station_id)
    if actor.is_admin:
        return stmt
    teams = access.coordinated_team_ids(session, actor) if actor.has_role("coordinator") else set()
    seen = Tip.reporter_id == actor.id
    if teams:
        seen = seen | Tip.reporter_id.in_(select(TeamMembership.user_id).where(TeamMembership.team_id.in_(teams)))
    area = access.assistant_area(actor)
    if area is not None:
        seen = seen | (Tip.grid == area)
    return stmt.where(seen)


def list_tips(session: Session, actor: User, *, status: str | None = None, level: str | None = None,
              mine: bool = False, limit: int = 50, before_id: int | None = None) -> list[Tip]:
    """Tips the actor may see, newest first: a volunteer's own; a coordinator's own and those of
    their teams' members; all of the station for an admin. ``mine`` keeps only the actor's own."""
    stmt = select(Tip).where(Tip.reporter_id == actor.id, Tip.station_id == actor.station_id) if mine \
        else _visible_filter(session, actor, select(Tip))
    if status:
        stmt = stmt.where(Tip.status == status)
    if level:
        stmt = stmt.where(Tip.level == level)
    if before_id:
        stmt = stmt.where(Tip.id < before_id)
    return list(session.exec(stmt.order_by(Tip.id.desc()).limit(max(1, min(limit, 500)))))


def area_tips(session: Session, actor: User, *, limit: int = 50) -> list[Tip]:
    """A police assistant's tips of their area, newest first (403 for anyone else)."""
    area = access.assistant_area(actor)
    if area is None:
        access.forbid(_l("Only a police assistant with an area sees this."))
    return list(session.exec(select(Tip).where(Tip.station_id == actor.station_id, Tip.grid == area)
                             .order_by(Tip.id.desc()).limit(max(1, min(limit, 500)))))


#: A tip in one of these is done: it leaves the inbox and is never overdue.
DONE_STATUSES = ("rejected", "closed")


def inbox(session: Session, actor: User, *, now: datetime | None = None, limit: int = 100) -> list[Tip]:
    """The coordinator's inbox, the tips still to handle in the order to handle them: overdue
    ones first (the longest overdue on top), then new ones (not yet triaged, newest first), then
    the rest, red before yellow before blue, the earliest due first. A tip found untrue or
    closed is done and leaves the inbox (:func:`done_tips`)."""
    access.require_role(actor, "coordinator")
    now = now or utcnow()
    stmt = _visible_filter(session, actor, select(Tip)).where(Tip.status.not_in(DONE_STATUSES))
    overdue = Tip.due_at.is_not(None) & (Tip.due_at < now)
    group = case((overdue, 0), (Tip.status == "submitted", 1), else_=2)
    level_rank = case((Tip.level == "red", 0), (Tip.level == "yellow", 1), else_=2)
    return list(session.exec(stmt.order_by(group, case((overdue, Tip.due_at), else_=None), level_rank,
                                           Tip.due_at, Tip.id.desc()).limit(limit)))


def done_tips(session: Session, actor: User, *, limit: int = 100) -> list[Tip]:
    """Tips closed or found untrue, the latest first."""
    access.require_role(actor, "coordinator")
    stmt = _visible_filter(session, actor, select(Tip)).where(Tip.status.in_(DONE_STATUSES))
    return list(session.exec(stmt.order_by(Tip.id.desc()).limit(limit)))


def follow_ups(session: Session, actor: User, *, now: datetime | None = None, limit: int = 100) -> list[Tip]:
    """Yellow tips, not yet closed, whose return visit falls on or before the end of today
    (station time), the most overdue first."""
    access.require_role(actor, "coordinator")
    today_end = local(now or utcnow()).replace(hour=23, minute=59, second=59, microsecond=0)
    stmt = _visible_filter(session, actor, select(Tip)).where(
        Tip.level == "yellow", Tip.status != "closed", Tip.follow_up_at.is_not(None),
        Tip.follow_up_at <= as_utc(today_end))
    return list(session.exec(stmt.order_by(Tip.follow_up_at, Tip.id).limit(limit)))


def counts_for_staff(session: Session, actor: User, *, now: datetime | None = None) -> dict:
    """Numbers for the manage hub: new (untriaged) tips and yellow return visits due."""
    if not actor.has_role("coordinator"):
        return {"new": 0, "follow_up": 0}
    new = session.exec(_visible_filter(session, actor, select(func.count(Tip.id)))
                       .where(Tip.status == "submitted")).one()
    return {"new": new, "follow_up": len(follow_ups(session, actor, now=now))}


# --- reporting ------------------------------------------------------------------------------

def _clean(text: str | None, field: str, limit: int, *, required: bool = False, message=None) -> str:
    value = (text or "").strip()
    if "\x00" in value:  # PostgreSQL text cannot hold it; refused alike on every engine
        raise FieldError(field, _l("This text contains a character that is not allowed."))
    if required and not value:
        raise FieldError(field, message or _l("Please fill this in."))
    if len(value) > limit:
        raise FieldError(field, _l("At most %(n)s characters.", n=limit))
    return value


def submit(session: Session, reporter: User, *, category: str, description: str, place: str | None = None,
           latitude: float | None = None, longitude: float | None = None, client_ref: str | None = None,
           now: datetime | None = None, grid: str | None = None) -> tuple[Tip, bool]:
    """File a tip. Returns ``(tip, created)``: the same ``client_ref`` from the same person
    (a reload, a double tap, a retried request) returns the first tip with ``created`` False."""
    if reporter.status != "active":
        access.forbid(_l("Your account is not active."))
    if category not in TIP_CATEGORIES:
        raise FieldError("category", _l("Choose what kind of tip this is."))
    description = _clean(description, "description", 2000, required=True,
                         message=_l("Say in a few words what you saw."))
    place = _clean(place, "place", 200)
    grid = _clean(grid, "grid", GRID_LENGTH)
    if (latitude is None) != (longitude is None):
        raise FieldError("latitude", _l("Give both latitude and longitude, or neither."))
    for name, value, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if value is not None and not (isinstance(value, (int, float)) and -bound <= value <= bound):
            raise FieldError(name, _l("This position is not valid."))
    client_ref = (client_ref or "").strip()[:64] or None
    if client_ref:
        existing = _by_client_ref(session, reporter.id, client_ref)
        if existing is not None:
            return existing, False
    moment = now or utcnow()
    tip = Tip(station_id=reporter.station_id, reporter_id=reporter.id, category=category, description=description,
              place=place, grid=grid, latitude=float(latitude) if latitude is not None else None,
              longitude=float(longitude) if longitude is not None else None, client_ref=client_ref,
              created_at=moment, updated_at=moment)
    if not client_ref:
        session.add(tip)
        session.flush()
        _tell(session, tip, "tip.created", moment)
        return tip, True
    try:
        with session.begin_nested():  # a parallel twin may have filed it a moment ago
            session.add(tip)
    except IntegrityError:
        existing = _by_client_ref(session, reporter.id, client_ref)
        if existing is None:
            raise
        return existing, False
    _tell(session, tip, "tip.created", moment)
    return tip, True


def _tell(session: Session, tip: Tip, event: str, now: datetime) -> None:
    """The station's webhooks hear of it (the tip as the API shows it)."""
    from ..schemas.common import Attrs
    from ..schemas.tips import TipOut

    def data():
        photos = [Attrs(photo, url=f"/api/v1/tips/{tip.id}/photos/{photo.id}")
                  for photo in photos_of(session, [tip.id])[tip.id]]
        return outbox.dump(TipOut, Attrs(tip, photos=photos))
    outbox.emit(session, tip.station_id, event, data, now=now)


def _by_client_ref(session: Session, reporter_id: int, client_ref: str) -> Tip | None:
    return session.exec(select(Tip).where(Tip.reporter_id == reporter_id, Tip.client_ref == client_ref)).first()


# --- staff steps ----------------------------------------------------------------------------

def _closed(tip: Tip):
    raise DomainError("conflict", _l("This tip is closed."), status_now=tip.status)


def triage(session: Session, actor: User, tip_id: int, *, level: str, note: str | None = None,
           due_at: datetime | None = None, now: datetime | None = None) -> Tip:
    """Put a tip on the red-yellow-blue list with a due date (default: red 1 day, yellow 7,
    blue 14). Yellow items get a return visit a calendar month later."""
    tip = _get_for_staff(session, actor, tip_id)
    if tip.status == "closed":
        _closed(tip)
    if tip.status not in REVIEWABLE:
        raise DomainError("already_reviewed", _l("This tip has already been reviewed."), status_now=tip.status)
    if level not in TIP_LEVELS:
        raise FieldError("level", _l("Choose red, yellow or blue."))
    note = _clean(note, "note", 2000)
    if due_at is not None and due_at.tzinfo is None:
        raise FieldError("due_at", _l("Give the time with its offset."))
    moment = now or utcnow()
    before = {"status": tip.status, "level": tip.level}
    tip.level = level
    tip.due_at = as_utc(due_at) if due_at is not None else moment + timedelta(days=DEFAULT_DUE_DAYS[level])
    tip.follow_up_at = add_month(moment) if level == "yellow" else None
    tip.triage_note = note
    tip.triaged_by, tip.triaged_at, tip.updated_at = actor.id, moment, moment
    tip.status = "triaged"
    session.add(tip)
    audit.record(session, actor, "tip.triage", "tip", tip.id, level=level, due_at=isoformat(tip.due_at),
                 note=note, before=before)
    session.flush()
    _tell(session, tip, "tip.triaged", moment)
    return tip


def review(session: Session, actor: User, tip_id: int, *, valid: bool, note: str, points: int | None = None,
           now: datetime | None = None) -> Tip:
    """Decide once whether the tip was valid; a valid one pays its points as one ``tip`` entry."""
    tip = _get_for_staff(session, actor, tip_id)  # row locked: a parallel review waits here
    if tip.reviewed_at is not None or tip.status in ("verified", "rejected"):
        raise DomainError("already_reviewed", _l("This tip has already been reviewed."), status_now=tip.status)
    if tip.status == "closed":
        _closed(tip)
    if tip.reporter_id == actor.id:
        access.forbid(_l("Someone else must review your own tip."))
    if not isinstance(valid, bool):
        raise FieldError("valid", _l("Say whether the tip was valid."))
    note = _clean(note, "note", 2000, required=True, message=_l("Please add a short note."))
    if valid:
        points = default_points(tip.category) if points is None else points
        if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= MAX_POINTS:
            raise FieldError("points", _l("Points must be a whole number from 0 to %(n)s.", n=MAX_POINTS))
    elif points not in (None, 0):
        raise FieldError("points", _l("A tip that was not valid earns no points."))
    else:
        points = 0
    moment = now or utcnow()
    tip.status = "verified" if valid else "rejected"
    tip.valid = valid
    tip.points_awarded = points
    tip.review_note = note
    tip.reviewed_by, tip.reviewed_at, tip.updated_at = actor.id, moment, moment
    session.add(tip)
    session.flush()
    entry = None
    if points > 0:
        ledger.lock_user(session, tip.reporter_id)
        entry = ledger.post(session, tip.reporter_id, points, "tip", f"tip:{tip.id}",
                            reason=f"tip #{tip.id}", actor_id=actor.id, now=moment)
    if valid:
        _notify_verified(session, tip, now=moment)
    audit.record(session, actor, "tip.review", "tip", tip.id, valid=valid, points=points, note=note,
                 entry_id=entry.id if entry else None)
    session.flush()
    return tip


def _notify_verified(session: Session, tip: Tip, *, now: datetime) -> None:
    """Tell the reporter, in their own language, that the tip was verified and what it earned."""
    reporter = session.get(User, tip.reporter_id)
    try:
        with force_locale(reporter.language if reporter and reporter.language else "zh_CN"):
            title = str(_l("Your tip #%(id)s was verified", id=tip.id))
            body = (str(_l("Thank you! It earned you %(points)s points.", points=tip.points_awarded))
                    if tip.points_awarded else str(_l("Thank you for your help.")))
    except Exception:  # noqa: BLE001 - an unknown locale must not stop the review
        title, body = f"Tip #{tip.id} verified", ""
    notices.notify(session, tip.reporter_id, "tip", title, body, url=f"/tips/{tip.id}",
                   dedupe_key=f"tip:{tip.id}:verified", now=now)


def close(session: Session, actor: User, tip_id: int, *, resolution: str, now: datetime | None = None) -> Tip:
    """Close a tip with its resolution. Refused before triage (see the module's docstring)."""
    tip = _get_for_staff(session, actor, tip_id)
    if tip.status == "closed":
        _closed(tip)
    if tip.status not in CLOSABLE:
        raise DomainError("conflict", _l("Triage or review this tip before closing it."), status_now=tip.status)
    resolution = _clean(resolution, "resolution", 2000, required=True, message=_l("Say how it was resolved."))
    moment = now or utcnow()
    before = tip.status
    tip.status = "closed"
    tip.resolution = resolution
    tip.closed_by, tip.closed_at, tip.updated_at = actor.id, moment, moment
    session.add(tip)
    audit.record(session, actor, "tip.close", "tip", tip.id, resolution=resolution, before=before)
    session.flush()
    return tip


# --- photos ---------------------------------------------------------------------------------

def read_tip_notices(session: Session, reporter: User) -> set[int]:
    """Mark the reporter's unread tip notices read; the ids of the tips they were about."""
    unread = list(session.exec(select(Notice).where(
        Notice.user_id == reporter.id, Notice.kind == "tip", Notice.read_at.is_(None))))
    fresh = set()
    for notice in unread:
        parts = (notice.dedupe_key or "").split(":")
        if len(parts) == 3:
            try:
                fresh.add(parse_id(parts[1]))
            except BadValue:
                pass
        notices.mark_read(session, reporter.id, notice.id)
    return fresh


def photo_dir(instance_path: str | Path) -> Path:
    return Path(instance_path) / "tip_photos"


def read_limited(stream) -> bytes:
    """At most 5 MB and a byte of an upload (enough to know it is too large)."""
    return images.read_upload(stream)


def process_photo(data: bytes) -> tuple[bytes, str, int, int]:
    """Check an upload by its content and re-encode it (``services.images``):
    ``(bytes, content_type, width, height)``."""
    picture = images.reencode(data, max_side=MAX_SIDE)
    return picture.data, picture.content_type, picture.width, picture.height


def add_photo(session: Session, actor: User, tip_id: int, data: bytes, *, folder: str | Path,
              now: datetime | None = None) -> TipPhoto:
    """The reporter adds a photo (at most three, until the tip is reviewed). The file is written
    only once every check has passed; a refused upload stores nothing."""
    tip = _load(session, actor, tip_id, lock=True)  # counts photos one upload at a time
    if tip.reporter_id != actor.id:
        if can_view(session, actor, tip):
            access.forbid(_l("Only the person who sent the tip may add photos."))
        access.forbid(_l("Only the person who sent this tip and their coordinators may see it."))
    if tip.status not in REVIEWABLE:
        raise DomainError("conflict", _l("Photos can be added only until the tip is reviewed."),
                          status_now=tip.status)
    count = session.exec(select(func.count(TipPhoto.id)).where(TipPhoto.tip_id == tip.id)).one()
    if count >= MAX_PHOTOS:
        raise FieldError("file", _l("A tip can have at most %(n)s photos.", n=MAX_PHOTOS))
    return _store_photo(session, tip, process_photo(data), folder, now=now)


def _store_photo(session: Session, tip: Tip, processed: tuple[bytes, str, int, int], folder: str | Path,
                 *, now: datetime | None = None) -> TipPhoto:
    content, content_type, width, height = processed
    name = images.save(images.Picture(content, content_type, width, height), folder, str(tip.id))
    photo = TipPhoto(tip_id=tip.id, stored_name=name, content_type=content_type, size=len(content),
                     width=width, height=height, created_at=now or utcnow())
    session.add(photo)
    tip.updated_at = now or utcnow()
    session.add(tip)
    session.flush()
    return photo


def report(session: Session, reporter: User, *, photos: list[bytes], folder: str | Path,
           now: datetime | None = None, **fields) -> tuple[Tip, bool, list[TipPhoto]]:
    """The phone form in one step: the tip and up to three photos, all or nothing. Every photo
    is checked before anything is filed; a repeated ``client_ref`` returns the first tip and
    adds no photos. Returns ``(tip, created, stored photos)``; the caller removes the stored
    files (:func:`discard_files`) if its transaction then fails."""
    photos = [data for data in photos if data]
    if len(photos) > MAX_PHOTOS:
        raise FieldError("photos", _l("Choose at most %(n)s photos.", n=MAX_PHOTOS))
    processed = []
    for number, data in enumerate(photos, start=1):
        try:
            processed.append(process_photo(data))
        except FieldError as error:
            message = _l("Photo %(n)s: %(problem)s", n=number, problem=error.message)
            raise FieldError("photos", message) from None
    tip, created = submit(session, reporter, now=now, **fields)
    stored = [_store_photo(session, tip, item, folder, now=now) for item in processed] if created else []
    return tip, created, stored


def discard_files(folder: str | Path, photos: list[TipPhoto]) -> None:
    """Remove the files of photos whose transaction did not commit."""
    for photo in photos:
        (Path(folder) / photo.stored_name).unlink(missing_ok=True)


def photos_of(session: Session, tip_ids: list[int]) -> dict[int, list[TipPhoto]]:
    result: dict[int, list[TipPhoto]] = {tip_id: [] for tip_id in tip_ids}
    if tip_ids:
        for photo in session.exec(select(TipPhoto).where(TipPhoto.tip_id.in_(tip_ids)).order_by(TipPhoto.id)):
            result[photo.tip_id].append(photo)
    return result


def get_photo(session: Session, actor: User, tip_id: int, photo_id: int, *, folder: str | Path) -> tuple[TipPhoto, Path]:
    """A photo of a tip the actor may see, and its file (404 when either is missing)."""
    tip = get_tip(session, actor, tip_id)
    photo = session.get(TipPhoto, photo_id) if is_id(photo_id) else None
    if photo is None or photo.tip_id != tip.id:
        raise DomainError("not_found", _l("No such photo."))
    path = Path(folder) / photo.stored_name
    if not path.is_file():
        raise DomainError("not_found", _l("No such photo."))
    return photo, path


# --- views and checks -----------------------------------------------------------------------

def check_integrity(session: Session) -> list[str]:
    """Every verified tip with points has exactly its one ledger entry of that amount; no other
    tip has one; statuses and their timestamps agree."""
    problems = []
    entries = {entry.ref: entry for entry in session.exec(select(LedgerEntry).where(LedgerEntry.kind == "tip"))}
    for tip in session.exec(select(Tip).order_by(Tip.id)):
        ref = f"tip:{tip.id}"
        entry = entries.pop(ref, None)
        if tip.status not in TIP_STATUSES:
            problems.append(f"tip {tip.id}: unknown status {tip.status!r}")
        if tip.points_awarded > 0:
            if entry is None:
                problems.append(f"tip {tip.id}: {tip.points_awarded} points awarded but no ledger entry {ref}")
            elif entry.amount != tip.points_awarded or entry.user_id != tip.reporter_id:
                problems.append(f"tip {tip.id}: ledger entry {ref} is {entry.amount} points for user "
                                f"{entry.user_id}, the tip says {tip.points_awarded} for user {tip.reporter_id}")
        elif entry is not None:
            problems.append(f"tip {tip.id}: ledger entry {ref} but no points awarded")
        if tip.status in ("verified", "rejected") and tip.reviewed_at is None:
            problems.append(f"tip {tip.id}: {tip.status} without a review time")
        if tip.status == "closed" and tip.closed_at is None:
            problems.append(f"tip {tip.id}: closed without a closing time")
    for ref in entries:
        problems.append(f"ledger entry {ref}: no such tip")
    return problems


def label(kind: str, value: str | None) -> str:
    """The words for a category, status or level (templates never show the raw word)."""
    table = {"category": CATEGORY_LABELS, "status": STATUS_LABELS, "level": LEVEL_LABELS}[kind]
    return str(table.get(value, value or ""))


# --- demo -----------------------------------------------------------------------------------

DEMO_TIPS = [
    # (reporter index, category, description, place, steps: list of (days ago, step, args))
    (0, "fraud", "菜场门口有人推销“保本高息理财”，拉老人进微信群", "文三路菜场东门", []),
    (1, "ecology", "夜里有人在西湖边用电瓶电鱼，带着网兜", "北山街断桥东侧", [(0.1, "triage", {"level": "red"})]),
    (2, "dispute", "楼上楼下因为漏水吵了三次，快动手了", "翠苑一区 12 幢", [(35, "triage", {"level": "yellow"})]),
    (3, "hazard", "公园路口井盖松动，晚上看不清", "黄龙公园南门", [
        (3, "triage", {"level": "blue"}), (1, "review", {"valid": True, "note": "已通知市政维修，谢谢提醒"})]),
    (4, "other", "邻居问电动车上牌需要带什么材料", "", [
        (6, "triage", {"level": "blue"}), (5, "close", {"resolution": "已电话答复，材料清单发到群里"})]),
    (5, "fraud", "有人冒充公检法给独居老人打电话要转账", "古荡新村", [
        (9, "triage", {"level": "red"}), (9, "review", {"valid": True, "points": 30, "note": "及时劝阻，避免损失"}),
        (8, "close", {"resolution": "已上门劝阻，老人未转账"})]),
    (6, "dispute", "小区门口两辆车刮擦在吵架", "文一路口", [
        (2, "triage", {"level": "yellow"}), (2, "review", {"valid": False, "note": "到场时双方已自行协商解决"})]),
]


def seed_demo(session: Session, coordinator: User, volunteers: list[User], *, now: datetime | None = None) -> None:
    """A few tips in different states (deterministic content; times relative to ``now``)."""
    now = now or utcnow()
    for index, category, description, place, steps in DEMO_TIPS:
        reporter = volunteers[index]
        first = max([days for days, _step, _args in steps], default=0) + 0.5
        tip, _created = submit(session, reporter, category=category, description=description, place=place,
                               now=now - timedelta(days=first))
        for days, step, args in steps:
            when = now - timedelta(days=days)
            {"triage": triage, "review": review, "close": close}[step](session, coordinator, tip.id, now=when, **args)
