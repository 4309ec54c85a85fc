"""Admin settings of the manual, one router module per resource: services (contract), phone
permission, calling numbers, users, CTI settings, sounds and prompts, CTI agent management and
IVR menus. Every change reaches the engine and the switch at once: after each save the runtime
reloads the configuration snapshot as a whole."""

from ringdesk.web.routers.admin import (
    bans,
    calling_numbers,
    cti_agents,
    cti_settings,
    dispositions,
    menus,
    permissions,
    services,
    sounds,
    trunks,
    users,
    webhooks,
)

# The order the routes were declared in when they were one module.
MODULES = (
    services,
    permissions,
    calling_numbers,
    users,
    cti_settings,
    sounds,
    cti_agents,
    bans,
    trunks,
    menus,
    webhooks,
    dispositions,
)
