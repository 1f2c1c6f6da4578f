"""Maintenance as op jobs (not assets): backups and their restore check, health checks, GDPR
erasure, retention, and log and run rotation. Each module below owns its jobs and schedules."""

from spotify_agent_assets.defs.maintenance import backup, erasure, health, retention, rotation

_MODULES = (backup, erasure, health, retention, rotation)
MAINTENANCE_JOBS = [job for module in _MODULES for job in module.JOBS]
MAINTENANCE_SCHEDULES = [schedule for module in _MODULES for schedule in module.SCHEDULES]
MAINTENANCE_SENSORS = [sensor for module in _MODULES for sensor in module.SENSORS]
