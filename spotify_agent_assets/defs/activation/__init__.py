"""The activation group: what acts on the analytics (curated playlists and their write-back,
artist alerts, social media metrics, generated content). Each module below owns its assets, checks, jobs, schedules and sensors."""

from spotify_agent_assets.defs.activation import alerts, content, playlists, social

_MODULES = (alerts, playlists, social, content)
ACTIVATION_ASSETS = [asset for module in _MODULES for asset in module.ASSETS]
ACTIVATION_CHECKS = [check for module in _MODULES for check in module.CHECKS]
ACTIVATION_JOBS = [job for module in _MODULES for job in module.JOBS]
ACTIVATION_SCHEDULES = [schedule for module in _MODULES for schedule in module.SCHEDULES]
ACTIVATION_SENSORS = [sensor for module in _MODULES for sensor in module.SENSORS]
