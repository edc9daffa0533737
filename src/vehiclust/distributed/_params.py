"""An ``__init__`` for a Dask subclass that only adds parameters to a local estimator.

scikit-learn reads an estimator's parameters from the signature of its ``__init__``; a
subclass that wrote the local parameter list out again would hold a second copy of it (and
fall behind when the local one gains a parameter). :func:`extended_init` gives the local
signature plus the new keyword-only parameters, stored unchanged as scikit-learn wants.
"""

from __future__ import annotations

import inspect
from typing import Any


def extended_init(base: type, **extra: Any):
    """``base.__init__`` plus keyword-only parameters ``extra`` (name → default)."""
    signature = inspect.signature(base.__init__)
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default) for name, default in extra.items()]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        own = {name: kwargs.pop(name, default) for name, default in extra.items()}
        base.__init__(self, *args, **kwargs)
        for name, value in own.items():
            setattr(self, name, value)

    __init__.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *added])  # type: ignore[attr-defined]
    __init__.__doc__ = f"The parameters of {base.__name__}, plus {', '.join(extra)}."
    return __init__
