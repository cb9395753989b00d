"""``/interview/r/<token>``: where a room link lands.

The link signs the browser in as the room's candidate, observer or grader (the login
cookie), asks once for the name the others will see, then opens the room notebook in the
single-notebook view (a grader: the review page; each browser is a grader of its own).
The token never reaches the log: the request line is rewritten before anything is logged.
"""

from __future__ import annotations

import html
import re
from secrets import token_hex
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_escape, url_path_join
from tornado import web

from ..api.principal import RoomUser
from ..rooms.store import Room, RoomStore, now
from .gate import RoomGate

# What the candidate's page notes for the graders, said before the candidate starts.
RECORDED = (
    "Your Python runs in this browser. Your edits are kept with the time they were made, "
    "and long pastes and leaving this tab are noted for the people who review the interview."
)

_NAME = re.compile(r"^[^\x00-\x1f\x7f<>]{1,60}$")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · interview</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f5f5f5; margin: 0; }}
main {{ max-width: 28rem; margin: 12vh auto; background: white; padding: 2rem;
        border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
h1 {{ font-size: 1.3rem; margin-top: 0; }}
label {{ display: block; margin: 1rem 0 .3rem; }}
input[type=text] {{ width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }}
button {{ margin-top: 1rem; padding: .5rem 1.2rem; font-size: 1rem; }}
.error {{ color: #b00020; }}
</style></head>
<body><main>
<h1>{title}</h1>
<p>{intro}</p>
<form method="post">
{xsrf}
<label for="name">Your name, as the others will see it</label>
<input type="text" id="name" name="name" value="{name}" maxlength="60" required autofocus>
{error}
<button type="submit">{action}</button>
</form>
</main></body></html>
"""


class RoomLinkHandler(JupyterHandler):
    def prepare(self) -> Any:
        # The token is the credential: keep it out of the request log.
        self.request.uri = self.request.path = url_path_join(self.base_url, "interview/r/<token>")
        return super().prepare()

    @property
    def gate(self) -> RoomGate:
        return self.settings["interview_gate"]

    @property
    def rooms(self) -> RoomStore:
        return self.settings["interview_rooms"]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            "<!doctype html><title>Interview link</title>"
            "<h1>This interview link is not valid.</h1>"
            "<p>It may have been mistyped, or the interview was closed. "
            "Ask your interviewer for a new link.</p>"
        )

    def _link_user(self, token: str) -> tuple[RoomUser, Room]:
        user = self.gate.user_for_token(token)
        if user is None:
            raise web.HTTPError(404)
        return user, self.rooms.get(user.room_id)

    def _signed_in_as(self, user: RoomUser) -> RoomUser | None:
        """The room user this browser already is, if it is the same link."""
        current = self.identity_provider.get_user_cookie(self)
        if isinstance(current, RoomUser) and current.grant == user.grant:
            return current
        return None

    async def get(self, token: str) -> None:
        user, room = self._link_user(token)
        known = self._signed_in_as(user)
        if known is not None and known.named:
            self._open_room(known, room)
            return
        self.identity_provider.set_login_cookie(self, known or user)
        self._ask_name(room, user, (known or user).name)

    async def post(self, token: str) -> None:
        user, room = self._link_user(token)
        name = " ".join(self.get_body_argument("name", "").split())
        if not _NAME.match(name):
            self.set_status(400)
            self._ask_name(room, user, name, error="Please give a name of 1 to 60 characters.")
            return
        user.name = user.display_name = name
        user.initials = "".join(part[0] for part in name.split()[:2]).upper()
        user.named = True
        if user.role == "grader":
            # Each browser is a grader of its own, with its own scorecard.
            known = self._signed_in_as(user)
            named = known is not None and known.named
            user.username = known.username if named else f"{user.username}-{token_hex(4)}"
        self._open_room(user, room)

    def _open_room(self, user: RoomUser, room: Room) -> None:
        if user.role == "grader":
            self.identity_provider.set_login_cookie(self, user)
            self.redirect(url_path_join(self.base_url, "interview/review", room.id))
            return
        if user.role == "candidate" and room.started_at is None and room.status == "open":
            self.rooms.update(room.id, started_at=now())
        self.identity_provider.set_login_cookie(self, user)
        self.redirect(url_path_join(self.base_url, "notebooks", url_escape(room.notebook_path)))

    def _ask_name(self, room: Room, user: RoomUser, name: str, error: str = "") -> None:
        if user.role == "grader":
            intro = (
                "You are reviewing this interview: its timeline, the hidden tests and your own "
                "scorecard. Your name is shown with your scorecard; the other graders' "
                "scorecards appear once you submit yours."
            )
        elif user.role == "observer":
            intro = "You are joining as an observer: you will see the notebook live, read-only."
        elif room.status == "ended":
            intro = "This interview has ended: the notebook opens read-only."
        elif room.mode == "take-home":
            intro = (
                f"This is a take-home exercise. You have {room.duration_minutes} minutes from the "
                "moment you start; the clock keeps running if you close the page. Press Submit "
                "when you are done: at the deadline, your work is handed in as it is."
            )
        else:
            intro = (
                f"Your interview takes about {room.duration_minutes} minutes. "
                "Your interviewer will see your edits and outputs live."
            )
        if user.role == "candidate" and room.status == "open":
            intro += " " + RECORDED

        error_html = f'<p class="error">{html.escape(error)}</p>' if error else ""
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            _PAGE.format(
                title=html.escape(room.title),
                intro=html.escape(intro),
                xsrf=self.xsrf_form_html(),
                name=html.escape(name if name not in ("Candidate", "Observer", "Grader") else ""),
                error=error_html,
                action={"candidate": "Join the interview", "grader": "Review"}.get(
                    user.role, "Watch"
                ),
            )
        )
