"""The avatar_yaml configuration format: import and export of a run's configuration.

Octopize users keep their run configurations as avatar_yaml files (``runner.get_yaml()``, or the
web application's "download configuration"). Veil reads and writes the same multi-document format
so those files work unchanged with ``runner.from_yaml(path)`` and ``runner.get_yaml()``. Reading
lives in :mod:`veil_service.runs.yaml_read`, writing in :mod:`veil_service.runs.yaml_write`; this
module is the stable entry point (see ``docs/yaml.md``).
"""

from __future__ import annotations

from veil_service.runs.config import RunConfig
from veil_service.runs.yaml_keys import KINDS
from veil_service.runs.yaml_read import read_config
from veil_service.runs.yaml_write import write_config

__all__ = ["KINDS", "config_from_yaml", "config_to_yaml"]


def config_from_yaml(text: str) -> tuple[RunConfig, str | None, list[str]]:
    """Read an avatar_yaml document set into a run configuration.

    Unsupported features are reported rather than dropped silently, because a user who asked for
    differential privacy or pseudonymization must know the run will not do it.

    Args:
        text: The YAML text (documents separated by ``---``), as written by the Octopize client,
            its web application or :func:`config_to_yaml`.

    Returns:
        The configuration (already checked by :func:`veil_service.runs.config.validate`), the
        display name from ``AvatarMetadata.spec.display_name`` (None when absent), and the
        warnings: one per unsupported feature, naming every place it appears, then notes on
        settings Veil folds or ignores.

    Raises:
        InvalidArgumentError: Malformed YAML (with its line and column), an unknown ``kind``, an
            unknown key (naming the document, the key path and the accepted keys), a value of
            the wrong shape, or a parameter out of range.
    """
    return read_config(text)


def config_to_yaml(config: RunConfig, display_name: str) -> str:
    """Write a run configuration as the avatar_yaml documents ``Config.get_yaml()`` produces.

    The documents come in Octopize's order (metadata, schema, avatarized schema, standard
    parameters when a table is avatarized, privacy and signal metrics, basic and PIA reports),
    with keys in Octopize's order and unset values omitted, so the file diffs cleanly against
    one written by the Octopize client and loads back with :func:`config_from_yaml` unchanged.

    Args:
        config: The run configuration.
        display_name: The run's display name (written to ``AvatarMetadata``).

    Returns:
        The YAML text, documents joined by ``"\\n---\\n"``.
    """
    return write_config(config, display_name)
