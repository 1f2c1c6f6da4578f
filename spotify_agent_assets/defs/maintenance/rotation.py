"""(being written)"""

JOBS: list = []
SCHEDULES: list = []
SENSORS: list = []
