"""One progress bar style for every evaluation step: tqdm on stderr, silent when stderr is not a terminal."""
from __future__ import annotations

from tqdm import tqdm


def progress_bar(total: int | None, description: str) -> tqdm:
    return tqdm(total=total, desc=description, unit="frame", disable=None, leave=False)
