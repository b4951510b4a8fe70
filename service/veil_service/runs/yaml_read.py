"""Read the Octopize ``avatar_yaml`` multi-document format into a :class:`RunConfig`.

Users bring configurations written by the Octopize client (``runner.get_yaml()``) or downloaded
from its web application; they must load here unchanged. Three rules shape this module:

* Nothing is dropped silently. A feature Veil does not support yet (time-series avatarization,
  database runs...) is reported in the warnings, naming every place it appears, so the user knows
  the run differs.
* A typo is an error, not a warning. An unknown ``kind`` or an unknown key inside a known document
  raises :class:`InvalidArgumentError` naming the document, the key path and the accepted keys:
  a misspelt ``k`` silently falling back to the default would produce the wrong privacy level.
* Values are range-checked once, by :func:`veil_service.runs.config.validate`, so the YAML, the
  client and the gRPC API agree on what is valid.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import yaml

from veil_service.engine_contract import avatar_features
from veil_service.engine_contract.pseudonymization import parse_strategy
from veil_service.errors import InvalidArgumentError
from veil_service.runs import yaml_keys as vocab
from veil_service.runs.config import LinkConfig, RunConfig, TableConfig, validate
from veil_service.yaml_limits import CONFIG_LIMITS, load_documents


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that rejects duplicate keys (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        self.flatten_mapping(node)
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        mapping: dict[Hashable, Any] = super().construct_mapping(node, deep=deep)
        return mapping


@dataclass(frozen=True)
class _Doc:
    """One YAML document, for messages that tell the user where to look."""

    number: int
    kind: str
    name: str

    def label(self) -> str:
        return f"{self.kind} {self.name!r}"

    def error(self, path: str, message: str) -> InvalidArgumentError:
        return InvalidArgumentError(
            f"YAML document {self.number} ({self.label()}): {path}: {message}", field=path
        )


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _mapping(doc: _Doc, path: str, value: Any, accepted: tuple[str, ...]) -> dict[str, Any]:
    """``value`` as a mapping whose keys are all in ``accepted`` (None reads as empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error(path or "document", f"must be a mapping; got {value!r}.")
    for key in value:
        if key not in accepted:
            raise InvalidArgumentError(
                f"YAML document {doc.number} ({doc.label()}): unknown key {_join(path, key)!r}; "
                f"accepted keys{f' under {path!r}' if path else ''}: {', '.join(accepted)}.",
                field=_join(path, key),
            )
    return value


def _name(doc: _Doc, path: str, value: Any) -> str:
    """A table or column name; unquoted numbers (``2019:``) read back as the text they were."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise doc.error(path, f"must be a non-empty name; got {value!r}.")
    return value


def _flag(doc: _Doc, path: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise doc.error(path, f"must be true or false; got {value!r}.")


def _list(doc: _Doc, path: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise doc.error(path, f"must be a list; got {value!r}.")
    return value


def _names(doc: _Doc, path: str, value: Any) -> list[str] | None:
    if value is None:
        return None
    return [_name(doc, f"{path}[{i}]", v) for i, v in enumerate(_list(doc, path, value))]


def _tables(doc: _Doc, path: str, value: Any) -> dict[str, Any]:
    """A per-table block (``{<table>: {...}}``), keyed by table name."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error(path, f"must map table names to parameters; got {value!r}.")
    return {_name(doc, path, key): block for key, block in value.items()}


def _weights(doc: _Doc, path: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise doc.error(path, f"must map column names to weights; got {value!r}.")
    return {_name(doc, path, key): weight for key, weight in value.items()}


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value


class _Reader:
    """Accumulates one configuration from the documents, in file order."""

    def __init__(self) -> None:
        self.config = RunConfig()
        self.display_name: str | None = None
        self.notes: list[str] = []
        self.unsupported: dict[str, list[str]] = {}
        self.declared: list[str] = []
        self.schema_seen = False
        self.referenced: dict[str, str] = {}
        self.series_seen: dict[str, str] = {}
        self.scalars: dict[str, tuple[Any, str]] = {}
        self.folds: list[tuple[str, str, dict[str, Any]]] = []
        self.seen: dict[tuple[str, str], int] = {}
        self.generator_doc: dict[str, int] = {}

    def warnings(self) -> list[str]:
        """One warning per unsupported feature listing its places, then the notes."""
        grouped = [
            f"{vocab.FEATURES[key]}: {'; '.join(places)}."
            for key, places in self.unsupported.items()
        ]
        return grouped + list(dict.fromkeys(self.notes))

    def flag_unsupported(self, feature: str, doc: _Doc, path: str) -> None:
        self.unsupported.setdefault(feature, []).append(f"{doc.label()} {path}")

    def read(self, text: str) -> None:
        """Parse every document (a syntax error names its line) and read them in order."""
        documents = load_documents(text, field="yaml", limits=CONFIG_LIMITS, loader=_Loader)
        if all(document is None for document in documents):
            raise InvalidArgumentError(
                "the YAML holds no document; expected the avatar_yaml "
                f"documents ({', '.join(vocab.KINDS[:8])}).",
                field="yaml",
            )
        for number, document in enumerate(documents, start=1):
            if document is not None:
                self.document(number, document)
        self.finish()

    def document(self, number: int, document: Any) -> None:
        """Check a document's envelope (kind, metadata, annotations) and dispatch on its kind."""
        if not isinstance(document, dict):
            raise InvalidArgumentError(
                f"YAML document {number}: must be a mapping with kind, "
                f"metadata and spec; got {document!r}.",
                field="document",
            )
        kind, metadata = document.get("kind"), document.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        doc = _Doc(number, str(kind), "" if name is None else str(name))
        if kind is None:
            raise InvalidArgumentError(
                f"YAML document {number}: 'kind' is missing; accepted "
                f"kinds: {', '.join(vocab.KINDS)}.",
                field="kind",
            )
        if kind not in vocab.KINDS:
            raise InvalidArgumentError(
                f"YAML document {number} ({doc.label()}): unknown kind {kind!r}; accepted kinds: "
                f"{', '.join(vocab.KINDS)}.",
                field="kind",
            )
        _mapping(doc, "", document, vocab.DOCUMENT_KEYS)
        _mapping(doc, "metadata", metadata, vocab.METADATA_KEYS)
        if not isinstance(document.get("annotations") or {}, dict):
            raise doc.error("annotations", "must be a mapping.")
        if kind == vocab.VOLUME:
            return  # Veil stores tables itself; volumes have no meaning here.
        if (kind, doc.name) in self.seen and kind != vocab.SCHEMA:
            self.notes.append(
                f"YAML document {number} repeats {doc.label()} (first in document "
                f"{self.seen[kind, doc.name]}); its settings override the first's."
            )
        self.seen.setdefault((kind, doc.name), number)
        spec = document.get("spec")
        if kind == vocab.METADATA:
            self.metadata(doc, spec)
            self.annotations(document.get("annotations") or {})
        elif kind == vocab.SCHEMA:
            self.schema(doc, spec)
        elif kind == vocab.PARAMETERS:
            self.parameters(doc, spec)
        elif kind in (vocab.PRIVACY, vocab.SIGNAL):
            self.metrics(doc, spec)
        elif kind == vocab.REPORT:
            self.report(doc, spec)
        elif kind == vocab.ADVICE:
            self.advice(doc, spec)
        else:
            self.flag_unsupported("database", doc, "(whole document)")

    def annotations(self, annotations: dict[str, Any]) -> None:
        """The run's annotations (the client's own type and version are not the user's)."""
        for key, value in annotations.items():
            if key not in ("client_type", "client_version") and value is not None:
                self.config.annotations[str(key)] = str(value)

    def metadata(self, doc: _Doc, spec: Any) -> None:
        """Display name and PIA context (Octopize spells two PIA keys without underscore)."""
        spec = _mapping(doc, "spec", spec, vocab.AVATAR_METADATA_KEYS)
        if spec.get("display_name") is not None:
            self.display_name = _name(doc, "spec.display_name", spec["display_name"])
        pia = _mapping(doc, "spec.pia_metadata", spec.get("pia_metadata"), vocab.PIA_KEYS)
        for key, attribute in (
            ("datarecipient", "data_recipient"),
            ("data_type", "data_type"),
            ("datasubject", "data_subject"),
            ("sensitivity_level", "sensitivity_level"),
        ):
            if pia.get(key) is not None:
                setattr(self.config.pia, attribute, pia[key])

    def schema(self, doc: _Doc, spec: Any) -> None:
        """Tables, column types, identifiers, primary keys and links (declared on the parent).

        The ``_avatarized`` schema only says that avatars are generated; it carries nothing to
        store, as Veil keeps the avatar tables itself.
        """
        spec = _mapping(doc, "spec", spec, vocab.SCHEMA_KEYS)
        _flag(doc, "spec.check_links_between_tables", spec.get("check_links_between_tables"))
        if doc.name.endswith("_avatarized") or spec.get("schema_ref") is not None:
            self.avatar_schema(doc, spec)
            return
        self.schema_seen = True
        for index, entry in enumerate(_list(doc, "spec.tables", spec.get("tables"))):
            values = _mapping(doc, f"spec.tables[{index}]", entry, vocab.TABLE_KEYS)
            name = _name(doc, f"spec.tables[{index}].name", values.get("name"))
            path = f"spec.tables[{name}]"
            if name in self.declared:
                raise doc.error(path, f"table {name!r} is declared twice.")
            self.declared.append(name)
            table = self.config.table(name)
            _mapping(doc, f"{path}.data", values.get("data"), vocab.DATA_KEYS)
            table.individual_level = _flag(
                doc, f"{path}.individual_level", values.get("individual_level")
            )
            fields: set[str] = set()
            for position, column in enumerate(_list(doc, f"{path}.columns", values.get("columns"))):
                self.column(doc, f"{path}.columns", position, column, table, fields)
            for position, link in enumerate(_list(doc, f"{path}.links", values.get("links"))):
                self.link(doc, f"{path}.links[{position}]", link, name)

    def column(
        self, doc: _Doc, path: str, position: int, column: Any, table: TableConfig, fields: set[str]
    ) -> None:
        """One schema column: type, identifier flag, primary key; other options are reported."""
        values = _mapping(doc, f"{path}[{position}]", column, vocab.COLUMN_KEYS)
        field = _name(doc, f"{path}[{position}].field", values.get("field"))
        path = f"{path}[{field}]"
        if field in fields:
            raise doc.error(path, f"column {field!r} is declared twice in table {table.name!r}.")
        fields.add(field)
        if values.get("type") is not None:
            table.column_types[field] = values["type"]
        if (
            _flag(doc, f"{path}.identifier", values.get("identifier"))
            and field not in table.identifiers
        ):
            table.identifiers.append(field)
        if _flag(doc, f"{path}.primary_key", values.get("primary_key")):
            if table.primary_key and table.primary_key != field:
                raise doc.error(
                    path,
                    f"table {table.name!r} has two primary keys "
                    f"({table.primary_key!r} and {field!r}); keep one.",
                )
            table.primary_key = field
        if _flag(doc, f"{path}.time_series_time", values.get("time_series_time")):
            if table.time_series_time and table.time_series_time != field:
                raise doc.error(
                    path,
                    f"table {table.name!r} has two time columns ({table.time_series_time!r} "
                    f"and {field!r}); keep one.",
                )
            table.time_series_time = field
        if values.get("pseudonymization") is not None:
            try:
                strategy = parse_strategy(field, values["pseudonymization"])
            except InvalidArgumentError as exc:
                raise doc.error(f"{path}.pseudonymization", exc.message) from None
            table.pseudonymized_columns[field] = strategy.field_map()
        if values.get("value_type") is not None:
            self.flag_unsupported("column_options", doc, f"{path}.value_type")
        if _flag(doc, f"{path}.drop", values.get("drop")):
            self.flag_unsupported("column_options", doc, f"{path}.drop")

    def link(self, doc: _Doc, path: str, link: Any, parent: str) -> None:
        """A link, declared on its parent: ``field`` is the parent's key, ``to`` the child's."""
        values = _mapping(doc, path, link, vocab.LINK_KEYS)
        target = _mapping(doc, f"{path}.to", values.get("to"), vocab.LINK_TO_KEYS)
        method = values.get("method") or vocab.LINK_METHODS[0]
        if method not in vocab.LINK_METHODS:
            raise doc.error(
                f"{path}.method", f"must be one of {', '.join(vocab.LINK_METHODS)}; got {method!r}."
            )
        self.config.links.append(
            LinkConfig(
                parent,
                _name(doc, f"{path}.to.table", target.get("table")),
                _name(doc, f"{path}.field", values.get("field")),
                _name(doc, f"{path}.to.field", target.get("field")),
                method,
            )
        )

    def avatar_schema(self, doc: _Doc, spec: dict[str, Any]) -> None:
        """Check the avatarized schema's shape; avatar tables come from uploads, not volumes."""
        for index, entry in enumerate(_list(doc, "spec.tables", spec.get("tables"))):
            values = _mapping(doc, f"spec.tables[{index}]", entry, vocab.AVATAR_TABLE_KEYS)
            path = f"spec.tables[{index}].avatars_data"
            data = _mapping(doc, path, values.get("avatars_data"), vocab.DATA_KEYS)
            if data.get("file") is not None or data.get("volume") is not None:
                self.notes.append(
                    f"{doc.label()} {path} is ignored: upload avatar tables with "
                    "add_table(..., avatar_data=...)."
                )

    def table(self, doc: _Doc, name: str) -> TableConfig:
        """A table named by a parameters document (remembered to report undeclared ones)."""
        self.referenced.setdefault(name, doc.label())
        return self.config.table(name)

    def parameters(self, doc: _Doc, spec: Any) -> None:
        """The ``standard`` job: per-table avatarization, Open DP or Fast DP parameters.

        A table named in two blocks of one document keeps both, and the range check refuses it
        (one generator per table); a later document naming the table replaces its parameters.
        """
        spec = _mapping(doc, "spec", spec, vocab.PARAMETERS_KEYS)
        for key, accepted, own in (
            ("avatarization", vocab.AVATARIZATION_KEYS, {"k": "k"}),
            ("avatarization_open_dp", vocab.OPEN_DP_KEYS, vocab.OPEN_DP_NAMES),
            ("avatarization_dp", vocab.OPEN_DP_KEYS, vocab.OPEN_DP_NAMES),
            ("avatarization_fast_dp", vocab.FAST_DP_KEYS, vocab.FAST_DP_NAMES),
        ):
            for name, block in _tables(doc, f"spec.{key}", spec.get(key)).items():
                path = f"spec.{key}.{name}"
                if key == "avatarization_dp":
                    self.notes.append(
                        f"{doc.label()} {path}: avatarization_dp (the Octopize 1.0.8 name) is "
                        "read as avatarization_open_dp."
                    )
                table = self.table(doc, name)
                parameters = self.avatarization(doc, path, block, accepted, own)
                if self.generator_doc.get(name) == doc.number and table.avatarization:
                    # Two blocks of one document: both kept, the range check refuses the pair.
                    parameters = {**table.avatarization, **parameters}
                self.generator_doc[name] = doc.number
                table.avatarization = parameters
        self.common(doc, spec)

    def common(self, doc: _Doc, spec: dict[str, Any]) -> None:
        """The spec keys shared by the parameter documents (time series, results, seed...)."""
        for name, block in _tables(doc, "spec.time_series", spec.get("time_series")).items():
            self.time_series(doc, f"spec.time_series.{name}", name, block)
        results = _mapping(doc, "spec.results", spec.get("results"), vocab.RESULTS_KEYS)
        for key in ("format", "name_template"):
            if results.get(key) is not None:
                self.flag_unsupported("results_files", doc, f"spec.results.{key}")
        self.scalar(doc, "max_distribution_plots", results.get("max_distribution_plots"))
        self.scalar(doc, "seed", spec.get("seed"))
        self.scalar(
            doc, "compute_figures", _flag(doc, "spec.compute_figures", spec.get("compute_figures"))
        )
        if spec.get("input") is not None:
            self.flag_unsupported("database", doc, "spec.input")

    def time_series(self, doc: _Doc, path: str, name: str, block: Any) -> None:
        """A table's time-series parameters. Octopize copies them into the metrics documents:
        a copy that matches the first is folded away, one that differs is reported."""
        values = _mapping(doc, path, block, vocab.TIME_SERIES_KEYS)
        projection = _mapping(
            doc, f"{path}.projection", values.get("projection"), vocab.PROJECTION_KEYS
        )
        alignment = _mapping(
            doc, f"{path}.alignment", values.get("alignment"), vocab.ALIGNMENT_KEYS
        )
        settings: dict[str, Any] = {}
        for source, key in (
            (projection, "projection_type"),
            (projection, "nf"),
            (alignment, "method"),
            (alignment, "nb_points"),
            (alignment, "unalignment"),
        ):
            _put(settings, key, source.get(key))
        if values.get("exclude_variables") is not None:
            self.flag_unsupported("series_exclusion", doc, f"{path}.exclude_variables")
        table = self.table(doc, name)
        if name not in self.series_seen:
            self.series_seen[name] = doc.label()
            table.time_series = settings or None
        elif (table.time_series or None) != (settings or None):
            self.notes.append(
                f"{doc.label()} {path} differs from the time-series parameters of "
                f"{self.series_seen[name]}; a table has one set, the first is used."
            )

    def scalar(self, doc: _Doc, attribute: str, value: Any) -> None:
        """Set a run-wide value; Octopize repeats some per document, Veil keeps one."""
        if value is None:
            return
        if attribute not in self.scalars:
            self.scalars[attribute] = (value, doc.label())
            setattr(self.config, attribute, value)
        elif self.scalars[attribute][0] != value:
            kept, where = self.scalars[attribute]
            self.notes.append(
                f"{attribute} {value!r} in {doc.label()} differs from {kept!r} in "
                f"{where}; a Veil run has one {attribute}, {kept!r} is used."
            )

    def avatarization(
        self,
        doc: _Doc,
        path: str,
        block: Any,
        accepted: tuple[str, ...] = vocab.AVATARIZATION_KEYS,
        own: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Flatten the nested Octopize block into the ``set_parameters`` names Veil stores.

        Args:
            own: The block's own keys -> their ``set_parameters`` names (``k``, or the DP
                generators' ``epsilon`` -> ``open_dp_epsilon``...).
        """
        values = _mapping(doc, path, block, accepted)
        out: dict[str, Any] = {}
        for key, name in (own or {"k": "k"}).items():
            _put(out, name, values.get(key))
        for key in ("ncp", "max_rows_per_batch", *vocab.PRIVACY_KNOBS):
            _put(out, key, values.get(key))
        out.update(self.shared(doc, path, values))
        exclude = self.exclude(doc, f"{path}.exclude_variables", values.get("exclude_variables"))
        out.update(exclude)
        out.update(self.imputation(doc, f"{path}.imputation", values.get("imputation")))
        augmentation = _mapping(
            doc,
            f"{path}.data_augmentation",
            values.get("data_augmentation"),
            vocab.AUGMENTATION_KEYS,
        )
        for key, name in vocab.AUGMENTATION_NAMES.items():
            _put(out, name, augmentation.get(key))
        processors = values.get("avatarization_processors_parameters")
        if processors is not None:
            where = f"{path}.avatarization_processors_parameters"
            try:
                specs = avatar_features.parse_processors(where, processors)
            except InvalidArgumentError as exc:
                raise doc.error(where, exc.message) from None
            out["processors"] = [spec.field_map() for spec in specs]
        return out

    def shared(self, doc: _Doc, path: str, values: dict[str, Any]) -> dict[str, Any]:
        """The keys every per-table block shares (categorical reduction, column weights)."""
        out: dict[str, Any] = {}
        _put(
            out,
            "use_categorical_reduction",
            _flag(
                doc, f"{path}.use_categorical_reduction", values.get("use_categorical_reduction")
            ),
        )
        _put(
            out,
            "column_weights",
            _weights(doc, f"{path}.column_weights", values.get("column_weights")),
        )
        return out

    def exclude(self, doc: _Doc, path: str, value: Any) -> dict[str, Any]:
        """``exclude_variables{variable_names, replacement_strategy}`` as flat names."""
        values = _mapping(doc, path, value, vocab.EXCLUDE_KEYS)
        out: dict[str, Any] = {}
        _put(
            out,
            "exclude_variable_names",
            _names(doc, f"{path}.variable_names", values.get("variable_names")),
        )
        _put(out, "exclude_variables_method", values.get("replacement_strategy"))
        return out

    def imputation(self, doc: _Doc, path: str, value: Any) -> dict[str, Any]:
        """``imputation{method, k, training_fraction}`` as ``imputation_*`` names."""
        values = _mapping(doc, path, value, vocab.IMPUTATION_KEYS)
        out: dict[str, Any] = {}
        for key in ("method", "k", "training_fraction"):
            _put(out, f"imputation_{key}", values.get(key))
        if _flag(doc, f"{path}.return_data_imputed", values.get("return_data_imputed")):
            out["imputation_return_data_imputed"] = True
        return out

    def metrics(self, doc: _Doc, spec: Any) -> None:
        """Per-table privacy or signal metrics parameters.

        Octopize copies the imputation (and the exclusion) into the metrics blocks; Veil's metrics
        reuse the avatarization's, so a copy that matches is folded away and one that differs is
        reported (checked in :meth:`finish`, once every document is read).
        """
        block_key = "privacy_metrics" if doc.kind == vocab.PRIVACY else "signal_metrics"
        accepted = tuple(block_key if key == "{block}" else key for key in vocab.METRICS_SPEC_KEYS)
        spec = _mapping(doc, "spec", spec, accepted)
        block_keys = (
            vocab.SIGNAL_BLOCK_KEYS
            if doc.kind == vocab.SIGNAL
            else vocab.PRIVACY_BLOCK_KEYS + vocab.OBSOLETE_PRIVACY_KEYS
        )
        for name, block in _tables(doc, f"spec.{block_key}", spec.get(block_key)).items():
            path = f"spec.{block_key}.{name}"
            values = _mapping(doc, path, block, block_keys)
            out = self.shared(doc, path, values)
            for key in ("ncp", "quantile_threshold"):
                _put(out, key, values.get(key))
            if values.get("target") is not None:
                out["target"] = _name(doc, f"{path}.target", values["target"])
            _put(
                out,
                "known_variables",
                _names(doc, f"{path}.known_variables", values.get("known_variables")),
            )
            for key in vocab.OBSOLETE_PRIVACY_KEYS:
                if values.get(key) is not None:
                    self.flag_unsupported("obsolete", doc, f"{path}.{key}")
            # Octopize writes the avatarization's excluded variables into the metrics blocks
            # unless use_excluded_variables_in_metrics: present, they stay out of the metrics'
            # projection; absent, the metrics see them.
            excluded = self.exclude(
                doc, f"{path}.exclude_variables", values.get("exclude_variables")
            )
            _put(out, "exclude_variable_names", excluded.get("exclude_variable_names"))
            imputation = self.imputation(doc, f"{path}.imputation", values.get("imputation"))
            imputation.pop("imputation_return_data_imputed", None)  # the avatars' concern only
            if imputation:
                self.folds.append((name, f"{doc.label()} {path}.imputation", imputation))
            setattr(self.table(doc, name), block_key, out)
        self.common(doc, spec)

    def advice(self, doc: _Doc, spec: Any) -> None:
        """An advice document; Veil's ``advice_parameters`` block sets each table's
        privacy-targeted search (``privacy_targets``, ``target``) for the advice job."""
        spec = _mapping(doc, "spec", spec, vocab.ADVICE_SPEC_KEYS)
        _mapping(doc, "spec.advice", spec.get("advice"), ("advisor_type",))
        _mapping(doc, "spec.results", spec.get("results"), vocab.RESULTS_KEYS)
        blocks = _tables(doc, "spec.advice_parameters", spec.get("advice_parameters"))
        for name, block in blocks.items():
            path = f"spec.advice_parameters.{name}"
            values = _mapping(doc, path, block, vocab.ADVICE_BLOCK_KEYS)
            advice: dict[str, Any] = {}
            if values.get("privacy_targets") is not None:
                advice["privacy_targets"] = values["privacy_targets"]
            _put(advice, "target", values.get("target"))
            self.table(doc, name).advice = advice or None

    def report(self, doc: _Doc, spec: Any) -> None:
        """Only the language is stored: Veil always produces both the basic and the PIA report."""
        spec = _mapping(doc, "spec", spec, vocab.REPORT_KEYS)
        for key, choices in (("report_type", ("basic", "pia")), ("output_format", ("pdf", "docx"))):
            if spec.get(key) is not None and spec[key] not in choices:
                raise doc.error(
                    f"spec.{key}", f"must be one of {', '.join(choices)}; got {spec[key]!r}."
                )
        if spec.get("report_type", "basic") == "basic" and spec.get("output_format") == "docx":
            self.notes.append(
                f"{doc.label()} spec.output_format docx is ignored: Veil writes the technical "
                "report as a PDF (the PIA report is the DOCX)."
            )
        _mapping(doc, "spec.results", spec.get("results"), vocab.RESULTS_KEYS)
        self.scalar(doc, "report_language", spec.get("language"))

    def finish(self) -> None:
        """Checks that need every document: folded metrics settings, undeclared tables."""
        for name, where, folded in self.folds:
            keys = ("imputation_method", "imputation_k", "imputation_training_fraction")
            avatarization = self.config.table(name).avatarization
            if avatarization is None:
                self.notes.append(
                    f"{where} is ignored: Veil's metrics use the settings of the "
                    f"table's avatarization, and table {name!r} has none."
                )
            elif any(avatarization.get(key) != folded.get(key) for key in keys):
                self.notes.append(
                    f"{where} is ignored: it differs from the avatarization's, "
                    "and Veil's metrics use the avatarization's."
                )
        if self.schema_seen:
            for name, where in self.referenced.items():
                if name not in self.declared:
                    self.notes.append(
                        f"table {name!r} is configured in {where} but not declared "
                        "in the AvatarSchema; it was added."
                    )
        try:
            validate(self.config)
        except InvalidArgumentError as exc:
            where = vocab.yaml_path(exc.field or "")
            raise InvalidArgumentError(
                f"YAML configuration: {exc.message}"
                + (f" (in the YAML: {where})" if where else ""),
                field=exc.field,
            ) from exc


def read_config(text: str) -> tuple[RunConfig, str | None, list[str]]:
    """Parse avatar_yaml text; see :func:`veil_service.runs.yaml_io.config_from_yaml`."""
    reader = _Reader()
    reader.read(text)
    return reader.config, reader.display_name, reader.warnings()
