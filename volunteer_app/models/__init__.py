"""Every table. Import a domain's module here so that metadata (and Alembic) sees it."""
from .accounts import (  # noqa: F401
    MEMBER_ROLES,
    ROLES,
    USER_STATUSES,
    ApiToken,
    Attempt,
    AuditEntry,
    IdempotencyKey,
    LoginAttempt,
    Station,
    Team,
    TeamMembership,
    Unit,
    User,
)
from .ledger import EARNING_KINDS, LEDGER_KINDS, LedgerEntry, LotDraw, PointsLot  # noqa: F401
from .checkins import Checkin, Checkpoint, Event, UsedCode  # noqa: F401
from .recognition import TOTAL_PERIODS, Award, AwardTemplate, LeaderboardCache, PointsTotal, UserBadge  # noqa: F401
from .notices import Notice, NoticePreference, SmsMessage  # noqa: F401
from .shifts import SIGNUP_STATUSES, CalendarFeed, NoShowClearance, Shift, ShiftCheckpoint, ShiftSignup  # noqa: F401
from .tips import PHOTO_TYPES, TIP_CATEGORIES, TIP_LEVELS, TIP_STATUSES, Tip, TipPhoto  # noqa: F401
from .store import (ITEM_KINDS, REDEMPTION_STATUSES, SPONSOR_KINDS, Redemption, Sponsor, SponsorGift,  # noqa: F401
                    StockMovement, StoreItem, Voucher)
from .service import (SERVICE_SOURCES, SERVICE_STATUSES, ServiceDayTotal, ServiceKind, ServiceRecord,  # noqa: F401
                      ServiceStationDay, ServiceTeamDay)
from .webhooks import DELIVERY_STATUSES, WEBHOOK_EVENTS, WEBHOOK_FORMATS, Webhook, WebhookDelivery  # noqa: F401
from .callouts import CALLOUT_ANSWERS, Callout, CalloutAnswer  # noqa: F401
from .county import StationDay  # noqa: F401
from .care import HOUSEHOLD_KINDS, VISIT_CONDITIONS, CareAssignment, CareHousehold, CareVisit, CareVisitor  # noqa: F401
from .publicity import PublicityReport  # noqa: F401
from .mediation import (DISPUTE_KINDS, MEDIATION_OUTCOMES, SATISFACTION, CaseMediator,  # noqa: F401
                        MediationCase)
