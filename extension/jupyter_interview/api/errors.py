"""Errors a client can cause, each with its HTTP status and a stable machine-readable code.

Handlers raise these; the base handler turns them into ``{"error": code, "message": text}``.
"""

from __future__ import annotations

from tornado.web import HTTPError


class InterviewError(HTTPError):
    """Base class: ``status`` and ``code`` travel to the client, ``message`` says what to do.

    A tornado ``HTTPError``, so tornado logs it as a client error rather than a crash.
    """

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: object | None = None) -> None:
        super().__init__(self.status, reason=None)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class InvalidRequest(InterviewError):
    code = "invalid_request"


class InvalidJSON(InterviewError):
    code = "invalid_json"


class BodyTooLarge(InterviewError):
    status = 413
    code = "body_too_large"


class Unauthorized(InterviewError):
    status = 401
    code = "unauthorized"


class InvalidRoomId(InterviewError):
    code = "invalid_room_id"


class RoomNotFound(InterviewError):
    status = 404
    code = "room_not_found"


class UnknownTemplate(InterviewError):
    status = 404
    code = "unknown_template"


class RoomEnded(InterviewError):
    status = 409
    code = "room_ended"


class RoomNotCreated(InterviewError):
    status = 507
    code = "room_not_created"


class CandidateOffline(InterviewError):
    status = 409
    code = "candidate_offline"


class RunNotFound(InterviewError):
    status = 404
    code = "run_not_found"


class Forbidden(InterviewError):
    status = 403
    code = "forbidden"


class InvalidLink(InterviewError):
    status = 404
    code = "invalid_link"


class CodeTooLarge(InterviewError):
    status = 413
    code = "code_too_large"


class LanguageNotAllowed(InterviewError):
    status = 403
    code = "language_not_allowed"


class UnknownLanguage(InterviewError):
    code = "unknown_language"


class RateLimited(InterviewError):
    status = 429
    code = "rate_limited"


class SandboxRejected(InterviewError):
    code = "piston_rejected"


class SandboxUnavailable(InterviewError):
    status = 503
    code = "piston_unavailable"


class SandboxFailed(InterviewError):
    status = 502
    code = "piston_failed"


class GradingUnavailable(InterviewError):
    status = 503
    code = "grading_unavailable"


class GradingBusy(InterviewError):
    status = 503
    code = "grading_busy"


class GradeNotFound(InterviewError):
    status = 404
    code = "grade_not_found"
