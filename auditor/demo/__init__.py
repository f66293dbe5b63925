"""The demo MSP (ServeITPro and five clients): its data and its loader. Not a service: nothing
but ``auditor demo load`` and the tests use it."""

from __future__ import annotations

from auditor.demo.data import ANCHOR, CLIENTS, USERS, data_map, records
from auditor.demo.loader import REVIEWED_RULE, load

__all__ = ["ANCHOR", "CLIENTS", "REVIEWED_RULE", "USERS", "data_map", "load", "records"]
