"""(being written)"""

ASSETS: list = []
CHECKS: list = []
JOBS: list = []
SCHEDULES: list = []
SENSORS: list = []
