"""A police assistant's area (警务助理的片区): its tips and its care households."""
from __future__ import annotations

from flask_login import current_user, login_required

from ... import db
from ...services import access, care, tips
from . import bp
from .care import _labels as care_labels
from .common import render


@bp.get("/area")
@login_required
def my_area():
    session = db.get_session()
    area_tips = tips.area_tips(session, current_user)
    return render("pages/area.html", area=access.assistant_area(current_user), tips=area_tips,
                  households=care.area_households(session, current_user), labels=care_labels())
