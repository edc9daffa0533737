"""One project error family, so the CLI can catch ours and let bugs surface."""


class VehiclustError(Exception):
    """Base class of every error vehiclust raises on purpose."""


class InputError(VehiclustError, ValueError):
    """Input data or parameters are not what the tool can use."""


class UnsafePickleError(InputError):
    """A pickle asked for a global outside the allow-list."""


class MissingDependencyError(VehiclustError, ImportError):
    """An optional dependency (an extra) is needed for this step."""


class MissingWeightsError(VehiclustError, FileNotFoundError):
    """Model weights were not found where we looked."""
