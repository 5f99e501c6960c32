"""The hub: the one façade every route, page and socket handler calls (`Hub`).

One object, one lock, one method per operation; the methods live in modules by area so that no
file holds them all:

    core.py          the queue's operations, reads, storing and announcing, the hub's health
    office.py        the office at run time: admins' changes, `[[schedule]]` windows, announcements
    devices.py       device tokens (file and issued), health reports, last seen
    staff.py         staff accounts and login sessions
    satisfaction.py  ratings of a visit
    appointments.py  bookings, check-in, what the console and status page show of them
    media_files.py   images and videos for the boards
    floor.py         the supervisor's live floor
    reports.py       reports, read from the History off the event loop

Every area is a class on top of `HubCore` and sees its state; `Hub` puts them together. The order
of the bases matters only for the reader: no two areas define the same method
(tests/test_dependencies.py checks it).
"""

from __future__ import annotations

from ..clock import utcnow
from .appointments import Appointments
from .core import HubCore
from .devices import Devices
from .floor import Floor
from .media_files import MediaFiles
from .office import OfficeRuntime
from .reports import Reports
from .satisfaction import Satisfaction
from .staff import Staff

__all__ = ["Hub", "HubCore", "utcnow"]


class Hub(OfficeRuntime, Devices, Staff, Satisfaction, Appointments, MediaFiles, Floor, Reports):
    """The hub's façade: see server/hub/core.py for the order of every change."""
