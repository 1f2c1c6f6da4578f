"""Imported by the analysis pool's forkserver (`parallel.PRELOAD_MODULES`), never elsewhere.

Runs the extractor once on a synthetic clip, so librosa's lazily compiled numba functions (beat
tracking, peak picking) are compiled, or loaded from numba's cache, in the server before any
worker is forked from it. Workers then start with them ready and never compile: the cost is paid
once per process tree, and no two workers write numba's on-disk cache at the same moment
(concurrent writers have left a cache entry that crashed every later load with a segfault).
"""

from spotify_agent_assets.audio.features import warm_up

warm_up()
