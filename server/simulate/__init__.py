"""`jiaohao simulate`: business days of the office run through the real engine on a simulated clock.

A discrete-event loop (day.py) drives the same QueueEngine the hub runs: citizens arrive by an
hourly profile and take a ticket, check in for a booking at its slot or walk up to a free counter;
clerks call the next number when they finish, transfer a case now and then, and the called citizen
walks to the counter (or never comes); each visit lasts a time drawn around its service's
`default_minutes`. Every Change the engine returns is applied (and, with a store, committed)
exactly as the hub does. Randomness comes from seeded `random.Random` streams only and time from
the loop only, so the same seed and inputs give the same day, to the byte.

What the citizens do is drawn before the day runs (people.py), independently of the staffing:
two staffings of the same day and seed face the same citizens. what_if.py reads the supervisor's
what-ifs, figures.py makes the figures; docs/simulate.md says what every figure means.
"""

from .command import command
from .day import Simulation, run
from .figures import figures, table
from .people import DEFAULT_HOURS, LOAD, builtin_profile, capacity, citizens, lane_shares
from .what_if import (
    SimulationError,
    business_days,
    default_first_day,
    parse_counters,
    staffing,
    with_policy,
)

__all__ = [
    "DEFAULT_HOURS", "LOAD", "Simulation", "SimulationError", "builtin_profile", "business_days", "capacity",
    "citizens", "command", "default_first_day", "figures", "lane_shares", "parse_counters", "run", "staffing",
    "table", "with_policy",
]
