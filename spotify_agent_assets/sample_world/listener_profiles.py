"""Who listens in the sample world: the audience's markets, platforms, ages and account names.

The fixed vocabularies and shares `ListeningWorld` draws each listener's profile from, apart
from the listening model so that the audience can be read (and changed) without the play
generator around it. Drawing stays in `ListeningWorld._build_listeners`, in its own order.
"""

import numpy as np

PLATFORMS = ("ios", "android", "desktop", "web", "cast")
_PLATFORM_SHARE = np.array([0.33, 0.40, 0.15, 0.07, 0.05])

AGE_BANDS = ("13-17", "18-24", "25-34", "35-44", "45-54", "55+")
_AGE_SHARE = np.array([0.06, 0.26, 0.29, 0.18, 0.11, 0.10])

# Skewed like a streaming service's audience: a long tail behind the US. Offsets are standard
# time in minutes (DST ignored: it only shifts the diurnal curve by an hour for some markets).
_COUNTRIES: tuple[tuple[str, float, tuple[int, ...]], ...] = (
    ("US", 0.27, (-300, -300, -360, -420, -480)),
    ("BR", 0.09, (-180,)),
    ("GB", 0.08, (0,)),
    ("DE", 0.07, (60,)),
    ("MX", 0.06, (-360,)),
    ("FR", 0.04, (60,)),
    ("SE", 0.04, (60,)),
    ("CA", 0.04, (-300, -480)),
    ("ES", 0.035, (60,)),
    ("IT", 0.03, (60,)),
    ("NL", 0.03, (60,)),
    ("AU", 0.03, (600,)),
    ("JP", 0.03, (540,)),
    ("IN", 0.03, (330,)),
    ("PL", 0.025, (60,)),
    ("AR", 0.02, (-180,)),
    ("ID", 0.02, (420,)),
    ("PH", 0.02, (480,)),
    ("NG", 0.015, (60,)),
    ("TR", 0.015, (180,)),
)
COUNTRY_CODES = tuple(code for code, _, _ in _COUNTRIES)

_BASE32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
_HANDLE_WORDS = (
    "mara", "jonas", "lucia", "kofi", "yuna", "elio", "nadia", "oskar", "silas", "ines",
    "theo", "amara", "felix", "leah", "marco", "sofia", "noah", "ella", "ravi", "hana",
    "vinyl", "beats", "tunes", "groove", "echo", "indie", "night", "lofi", "wave", "moon",
)  # fmt: skip


def _listener_names(rng: np.random.Generator, n: int) -> list[str]:
    """Account names: old-style handles for early accounts, generated ids for newer ones."""
    generated = rng.random(n) < 0.65
    chars = _BASE32[rng.integers(0, 32, size=(n, 26))]
    words = rng.integers(0, len(_HANDLE_WORDS), size=(n, 2))
    numbers = rng.integers(1, 10_000, size=n)
    style = rng.integers(0, 3, size=n)
    names: list[str] = []
    seen: set[str] = set()
    for i in range(n):
        if generated[i]:
            name = "31" + chars[i].tobytes().decode()
        else:
            first, second = _HANDLE_WORDS[words[i, 0]], _HANDLE_WORDS[words[i, 1]]
            name = (
                f"{first}{numbers[i]}",
                f"{first}_{second}{numbers[i] % 100}",
                f"{first}.{second}",
            )[style[i]]
        while name in seen:  # handles are unique on the service: the newcomer adds a digit
            name += str(int(rng.integers(0, 10)))
        seen.add(name)
        names.append(name)
    return names
