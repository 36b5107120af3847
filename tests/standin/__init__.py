"""A faithful stand-in for a Supabase project (gateway, GoTrue auth, PostgREST) on a real
PostgreSQL, for mftrack's tests and for trying mftrack by hand. See docs/standin.md."""

from .clock import Clock
from .faults import FaultRule, LoggedRequest
from .gotrue import AuthSettings
from .postgrest import RestSettings
from .server import StandIn

__all__ = ["AuthSettings", "Clock", "FaultRule", "LoggedRequest", "RestSettings", "StandIn"]
