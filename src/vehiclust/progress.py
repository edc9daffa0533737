"""Progress bars the user can switch off; one place so every stage looks the same."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

# Set by the CLI (-q) or by callers; library default is to show bars on a terminal.
ENABLED = True


def track(
    iterable: Iterable[T],
    description: str,
    total: int | None = None,
    disable: bool | None = None,
) -> Iterator[T]:
    """Iterate with a rich progress bar; KeyboardInterrupt passes straight through."""
    if disable is None:
        disable = not ENABLED
    if disable:
        yield from iterable
        return
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(description, total=total)
        for item in iterable:
            yield item
            progress.advance(task)
