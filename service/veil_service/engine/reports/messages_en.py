"""English messages of the figures and reports (the reference catalog).

Keys are dotted by area (common, metric, desc, fig, reading, tech, pia, enum, level); values are
`str.format` templates. Every other language's catalog must have exactly these keys and the same
placeholders (tests/unit/engine/reports/test_reports_i18n.py).
"""

from __future__ import annotations

EN: dict[str, str] = {
    # common
    "common.not_computed": "not computed",
    "common.no_target": "no target",
    "common.pass": "pass",
    "common.fail": "fail",
    "common.metric": "Metric",
    "common.value": "Value",
    "common.target": "Target",
    "common.result": "Result",
    "common.run": "Run: {run}",
    "common.generated_at": "Generated on {when}",
    "common.page": "Page {page}",
    # metric names
    "metric.hidden_rate": "Hidden rate",
    "metric.local_cloaking": "Local cloaking",
    "metric.distance_to_closest": "Distance to closest",
    "metric.closest_distances_ratio": "Closest distances ratio",
    "metric.closest_rate": "Closest rate",
    "metric.row_direct_match_protection": "Row direct match protection",
    "metric.column_direct_match_protection": "Column direct match protection",
    "metric.categorical_hidden_rate": "Categorical hidden rate",
    "metric.singling_out_risk": "Singling out risk",
    "metric.correlation_protection_rate": "Correlation protection rate",
    "metric.linkability_risk": "Linkability risk",
    "metric.inference_continuous": "Inference protection (continuous)",
    "metric.inference_categorical": "Inference protection (categorical)",
    "metric.inference_risk": "Inference risk",
    "metric.knowledge_protection_rate": "Knowledge protection rate",
    "metric.linkability_protection_rate": "Linkability protection rate",
    "metric.inference_accuracy_ratio": "Inference accuracy ratio",
    "metric.hellinger_mean": "Hellinger distance (mean)",
    "metric.hellinger_std": "Hellinger distance (std)",
    "metric.pointwise_hellinger_mean": "Hellinger distance per time point (mean)",
    "metric.pointwise_hellinger_std": "Hellinger distance per time point (std)",
    "metric.density_hellinger_mean": "Hellinger distance of all readings (mean)",
    "metric.density_hellinger_std": "Hellinger distance of all readings (std)",
    "metric.series_length_mean_original": "Readings per series, originals (mean)",
    "metric.series_length_mean_avatar": "Readings per series, avatars (mean)",
    "metric.correlation_difference_ratio": "Correlation difference",
    "metric.column_shapes_score": "Column shapes score",
    "metric.pair_trends_score": "Column pair trends score",
    "metric.ml_utility_ratio": "ML utility ratio",
    "metric.ml_utility_real": "ML score, trained on originals",
    "metric.ml_utility_avatar": "ML score, trained on avatars",
    "metric.ml_utility_chance": "ML score of chance",
    # metric definitions
    "desc.hidden_rate": "share of individuals whose most similar avatar is not their own: "
    "how often an attacker holding both tables is wrong when linking.",
    "desc.local_cloaking": "median number of avatars that look more like an individual than "
    "the avatar generated from it.",
    "desc.distance_to_closest": "median distance from each avatar to its nearest original; "
    "0 means avatars copy originals.",
    "desc.closest_distances_ratio": "median ratio of the closest to the second-closest original "
    "distance; near 1, an avatar is not singled out by one original.",
    "desc.closest_rate": "share of avatars that are not both very close to one original and "
    "isolated from the others.",
    "desc.row_direct_match_protection": "share of original individuals that do not appear "
    "unchanged among the avatars.",
    "desc.column_direct_match_protection": "lowest, over columns, protection against a column "
    "being used as a direct identifier; 0 means an identifier was kept.",
    "desc.categorical_hidden_rate": "hidden rate when the attacker matches on the chosen "
    "categorical variables only.",
    "desc.singling_out_risk": "anonymeter-style risk (in %) that queries built on the avatars "
    "isolate exactly one real individual, beyond what chance explains.",
    "desc.correlation_protection_rate": "share of individuals an attacker cannot link to their "
    "avatar from the variables assumed known.",
    "desc.linkability_risk": "anonymeter-style risk (in %) of linking two partial records of "
    "the same individual through the avatars.",
    "desc.inference_continuous": "error an attacker makes when guessing a continuous sensitive "
    "variable from the known ones; higher is safer.",
    "desc.inference_categorical": "error rate an attacker makes when guessing a categorical "
    "sensitive variable from the known ones; higher is safer.",
    "desc.inference_risk": "anonymeter-style risk (in %) of guessing a secret attribute better "
    "than chance.",
    "desc.knowledge_protection_rate": "share (%) of individuals an attacker knowing the known "
    "variables cannot single out among the avatars (the correlation protection rate).",
    "desc.linkability_protection_rate": "100 minus the linkability risk (%): how little the "
    "avatars help link records across two sets of variables.",
    "desc.inference_accuracy_ratio": "accuracy (%) of inferring the target from the known "
    "variables with real records, relative to doing it with the avatars; 100 = as easy, "
    "above 100 = harder with the avatars.",
    "desc.hellinger_mean": "mean over variables of the Hellinger distance between original and "
    "avatar distributions; 0 = identical, 1 = disjoint.",
    "desc.hellinger_std": "standard deviation of those per-variable distances.",
    "desc.pointwise_hellinger_mean": "for a time series, at each point of the common time grid "
    "and for each variable, the Hellinger distance between original and avatar values; mean over "
    "points and variables (0 = identical, 1 = disjoint).",
    "desc.pointwise_hellinger_std": "standard deviation of those per-point distances.",
    "desc.density_hellinger_mean": "for a time series, the Hellinger distance between all "
    "original and all avatar readings of a variable, pooled over time and individuals; mean "
    "over variables.",
    "desc.density_hellinger_std": "standard deviation of those per-variable distances.",
    "desc.series_length_mean_original": "mean number of readings per original series.",
    "desc.series_length_mean_avatar": "mean number of readings per avatar series.",
    "desc.correlation_difference_ratio": "mean absolute difference between original and avatar "
    "Pearson correlations of continuous variables, in percent.",
    "desc.column_shapes_score": "mean similarity (0 to 1) of each column's distribution, as "
    "SDMetrics' column shapes (1 = identical).",
    "desc.pair_trends_score": "mean similarity (0 to 1) of the relation between each pair of "
    "columns, as SDMetrics' column pair trends.",
    "desc.ml_utility_ratio": "score of a model trained on the avatars divided by the score of "
    "the same model trained on the originals, both tested on real data.",
    "desc.ml_utility_real": "score of a model trained on the originals (test on real data).",
    "desc.ml_utility_avatar": "score of the same model trained on the avatars.",
    "desc.ml_utility_chance": "score of a model that learned nothing (AUC 0.5, the majority "
    "class's accuracy, R2 0); when the model trained on the originals does no better, the "
    "target cannot be predicted and the utility ratio is not computed.",
    # column kinds
    "kind.numeric": "numeric",
    "kind.categorical": "categorical",
    "kind.boolean": "boolean",
    "kind.datetime": "date/time",
    # figures
    "fig.original": "Original",
    "fig.avatars": "Avatars",
    "fig.density": "Density",
    "fig.missing": "(missing)",
    "fig.other": "(other)",
    "fig.share": "Share of rows",
    "fig.agg.mean_ratio": "Avatar mean, % of original",
    "fig.agg.std_ratio": "Avatar std, % of original",
    "fig.agg.column": "Column",
    "fig.agg.mean_original": "Mean (original)",
    "fig.agg.mean_avatars": "Mean (avatars)",
    "fig.agg.std_original": "Std (original)",
    "fig.agg.std_avatars": "Std (avatars)",
    "fig.corr_diff.axis": "|original - avatar| correlation",
    "fig.contribution.axis": "Contribution (%)",
    "fig.summary.axis": "Value relative to target (1 = on target, right = met)",
    "fig.unavailable": "This figure could not be drawn for this table.",
    "fig.no_numeric": "This table has fewer than two numeric columns to compare.",
    "fig.no_metrics": "No metric with a target has been computed yet.",
    "fig.distribution.title": "Distributions",
    "fig.distribution.title_column": "Distribution of {column}",
    "fig.distribution.caption": "Original values in grey, avatars in green, on the same bins.",
    "fig.aggregate_stats.title": "Mean and standard deviation",
    "fig.aggregate_stats.caption": "Avatar mean and standard deviation of the first numeric "
    "columns as a percentage of the original ones (100 % = identical); raw values below.",
    "fig.correlation.title": "Correlations",
    "fig.correlation.caption": "Pearson correlations between continuous variables, original on "
    "the left, avatars on the right.",
    "fig.correlation_difference.title": "Correlation difference",
    "fig.correlation_difference.caption": "Absolute difference between original and avatar "
    "correlations; white means the relation is kept.",
    "fig.2d_projection.title": "2D projection",
    "fig.2d_projection.caption": "Originals (grey) and avatars (green) on the first two "
    "dimensions; avatars should cover the same space without sitting on the originals.",
    "fig.3d_projection.title": "3D projection",
    "fig.3d_projection.caption": "Originals and avatars on the first three dimensions.",
    "fig.3d_projection.caption_refit": "Originals and avatars on the first three dimensions of a "
    "projection fitted on the originals for this figure (the run kept only two).",
    "fig.3d_projection.hint": "drag to rotate",
    "fig.3d_projection.no_script": "Turn on JavaScript to rotate this projection.",
    "fig.2d_projection.too_few": "The projection has fewer than two dimensions.",
    "fig.3d_projection.too_few": "The projection has fewer than three dimensions.",
    "fig.contribution.title": "Variable contributions",
    "fig.contribution.caption": "Share of each variable in the first dimensions of the projection.",
    "fig.class_projection_2d.title": "Classes in the 2D projection",
    "fig.class_projection_2d.caption": "Originals (left) and output rows (right) on the first two "
    "dimensions, coloured by class of the augmentation's target column; hollow markers are the "
    "extra rows data augmentation added, fresh avatars drawn among their originals' neighbours.",
    "fig.class_projection_2d.output": "Output (avatars and extra rows)",
    "fig.class_projection_2d.extra": "{label}, extra",
    # avatarization features (reports/features.py)
    "feat.open_dp.heading": "Differential privacy: Open DP",
    "feat.open_dp.what": "The rows of this table were generated by Open DP, an end-to-end "
    "differentially private generator: every statistic it learnt from the data (column ranges, "
    "categories, one- and two-way counts) was released through an OpenDP mechanism, and the rows "
    "were sampled from a model fitted to those noisy releases only. No output row descends from "
    "one original.",
    "feat.open_dp.loss": "Privacy loss of the release, as OpenDP's own accounting computed it: ε = "
    "{epsilon}, δ = {delta}. Adding or removing any one person changes the probability of any "
    "output by at most a factor e^ε, except with probability δ.",
    "feat.open_dp.split": "Budget split: a share of {ratio} of ε described the columns; the rest "
    "selected and measured the relations between columns the model keeps.",
    "feat.open_dp.public": "Public, and so not protected by the guarantee: the table's schema and "
    "the bounds the owner declared in its metadata. Nothing else was read from the data without "
    "noise.",
    "feat.accountant": "Accountant: {accountant}.",
    "feat.fast_dp.heading": "Fast DP (not end-to-end differential privacy)",
    "feat.fast_dp.not_dp": "Warning: Fast DP is NOT an end-to-end differentially private method. "
    "Do not present this table as differentially private.",
    "feat.fast_dp.what": "The rows were sampled from a parametric model ({mechanism}) whose "
    "parameters were perturbed with noise of budget ε = {epsilon}.",
    "feat.fast_dp.bounds": "The numeric values were clipped to the [{percentile}, 100 - "
    "{percentile}] percentiles of the data, read from the data without noise: these bounds, and so "
    "the release as a whole, are not covered by the ε above.",
    "feat.augmentation.heading": "Data augmentation",
    "feat.augmentation.multiplier": "Strategy: multiplier {factor} (the table holds about {factor} "
    "times the original's rows, class shares kept).",
    "feat.augmentation.minority": "Strategy: minority (the rarest class of the target column "
    "raised to the majority's count).",
    "feat.augmentation.not_majority": "Strategy: not_majority (every class of the target column "
    "raised to the majority's count).",
    "feat.augmentation.shares": "Strategy: target shares of the output per modality ({shares}); "
    "rows are only added.",
    "feat.augmentation.target": "Target column: {column}.",
    "feat.target.heading": "Named target column",
    "feat.target.what": "{column} was named as the column analysts will model (target_column). "
    "Its values were decoded without the local noise: each avatar takes the weighted majority "
    "of its neighbours' {column} (a category) or their weighted mean (a number) instead of a "
    "random draw among them; every other column kept the noise. A model trained on the avatars "
    "keeps more of the relation between {column} and the other columns, and this report's "
    "utility scores predict {column} unless the metrics named another target.",
    "feat.target.risk": "The cost is on that column: an attacker who knows a person's other "
    "attributes and finds the avatars nearest to them reads the typical {column} of that "
    "neighbourhood, which the noise would have blurred. The inference risk with {column} as the "
    "secret is the figure to check (the privacy metrics measure it when known_variables are "
    "set). Measured on public tables with anonymeter's protocol (docs/benchmarks.md, \"A named "
    'target column"), that risk rose by 2 to 3 points on average over 40 seeds (german_credit '
    "0.135 to 0.163, titanic 0.125 to 0.142), within anonymeter's intervals, while "
    "singling-out, linkability and the distance ratio stayed at the defaults' level.",
    "feat.augmentation.how": "The extra rows are fresh avatars: the whole table is avatarized "
    "again with new random weights and the new avatars of the class's originals are kept. Each is "
    "a weighted barycentre of neighbours, never a copy of a row.",
    "feat.augmentation.dp": "The extra rows were sampled from the same differentially private "
    "model: post-processing, which spends no further budget.",
    "feat.augmentation.sensitive": "SENSITIVE: should_anonymize_original_table was false, so the "
    "output holds the ORIGINAL rows next to the extra ones.",
    "feat.augmentation.metrics": "An individual with several descendants is more exposed than one "
    "with a single avatar: the privacy metrics were also computed between each original and the "
    "barycentre of its descendants (barycentered), and for the originals that got extra rows only "
    "(class_balancing_barycenter).",
    "feat.augmentation.computation": "Computation",
    "feat.augmentation.barycentered": "barycentered",
    "feat.augmentation.class_balancing_barycenter": "class_balancing_barycenter",
    "feat.processors.heading": "Server-side processors",
    "feat.processors.what": "These transformations were applied in this order before generation, "
    "and undone in reverse order after it, so that the relations they express hold in every output "
    "row.",
    "feat.processors.order": "Order",
    "feat.processors.keeps": "Relation kept",
    "feat.processors.relative": "{target} stays on the same side of {references} (relative "
    "difference)",
    "feat.processors.inter_record": "per {id}, each record's {end} after its {start}, records in "
    "sequence (inter-record range difference)",
    "feat.pseudo.heading": "Pseudonymization",
    "feat.pseudo.what": "These columns are direct identifiers: they were set aside before "
    "generation and replaced with pseudonyms in the output.",
    "feat.pseudo.mapping": "The table mapping original values to pseudonyms stays on the server "
    "with the run: only the run's owner can download it, and it is deleted with the run.",
    "feat.pseudo.hash": "HASH_SHA256 pseudonyms are keyed with a secret drawn for this run "
    "(HMAC-SHA256): a plain hash of a name or an identifier could be reversed by hashing a "
    "dictionary of candidates.",
    "feat.pseudo.dp": "With a DP generator no output row descends from an original: every "
    "pseudonym was drawn afresh, independently of the data, and no mapping is kept.",
    "feat.pseudo.column": "Column",
    "feat.pseudo.kind": "Kind",
    "feat.pseudo.detail": "Type or pattern",
    # privacy-targeted parameter search of the advice (reports/features.py, advice_curve.py)
    "search.heading": "Privacy-targeted parameter search",
    "search.what": "Before this run, the advice tried {count} parameter sets (k, the largest "
    "weight, the local noise) on a sample of {rows} rows: each time it avatarized 70 % of the "
    "sample, attacked the avatars with the other 30 % as control (singling-out, linkability, "
    "inference, distance to the closest avatar) and measured the utility ({utility}).",
    "search.splits": "Each attack risk counts the attacks of {splits} random splits of the "
    "sample together, and every other figure is the mean over {splits} random splits: one split "
    "of a small sample is too noisy to rank parameter sets.",
    "search.unmeasured": "Inference on {secrets} could not be measured on the sample: fewer than "
    "{rows} control rows hold another value than the most frequent one, so the worst inference "
    "of every set leaves it out. The chosen set's risk and 95 % interval: {figures}. Check it "
    "with the privacy metrics of the whole table.",
    "search.unmeasured_all": "Inference on {secrets} could not be measured on the sample: fewer "
    "than {rows} control rows hold another value than the most frequent one. No secret tried "
    "could be measured, so the worst inference still counts them. The chosen set's risk and "
    "95 % interval: {figures}. Check them with the privacy metrics of the whole table.",
    "search.utility.ml_utility_ratio": "score of a model trained on avatars over that of one "
    "trained on real rows",
    "search.utility.column_shapes_and_pair_trends": "column shapes and pair trends",
    "search.met": "The most useful set that meets every target was chosen: {parameters}; "
    "binding target: {binding} (a more useful set missed it).",
    "search.met_unbound": "The most useful set that meets every target was chosen: {parameters}; "
    "no target was binding (the most useful set tried met them all).",
    "search.missed": "No parameter set tried meets every target on the sample; kept: {parameters} "
    "(Veil's defaults, or a set at least as private as them on every measure). It misses {missed}.",
    "search.private": "No parameter set tried meets every target on the sample; kept: "
    "{parameters}, the most useful set that meets every privacy target (privacy comes first). "
    "It misses the utility target: a model trained on its avatars scores {loss} below one "
    "trained on real rows (target: at most {target}).",
    "search.run_used": "This run used the chosen parameters.",
    "search.k_grown": "The table has {rows} rows, more than the sample: k grows from {sample_k} "
    "to {k} (k x (rows ratio)^(1/3); at the same k the attacks find the closer neighbours of a "
    "larger table).",
    "search.table_check_met": "Checked on {where} ({train} rows avatarized at k={k}, the rest as "
    "control), the chosen parameters meet every target: {figures}.",
    "search.table_check_missed": "Checked on {where} ({train} rows avatarized at k={k}, the rest "
    "as control), the chosen parameters miss {missed}: {figures}.",
    "search.table_check.whole": "the table",
    "search.table_check.draw": "a draw of {rows} of its rows",
    "search.run_other": "This run used other parameters than the advised ones: {parameters}.",
    "search.sample_note": "Figures of a sample are noisier than the metrics of the whole table "
    "above, which are the ones to sign off on.",
    "search.caption": "Privacy-utility curve of the search: k on the x axis; above, each attack "
    "risk per family of parameters against its target (thin lines); below, the utility (with its "
    "target, dotted, when a column's prediction measures it); circled: the chosen set.",
    "search.target.hidden_rate": "hidden rate",
    "search.target.local_cloaking": "local cloaking",
    "search.target.singling_out": "singling-out risk",
    "search.target.linkability": "linkability risk",
    "search.target.inference": "worst inference risk",
    "search.target.distance_ratio": "distance ratio held-out/train",
    "search.target.unique_copies": "copies of unique rows",
    "search.target.utility_loss": "utility loss",
    "search.column.singling_out": "Singling-out",
    "search.column.linkability": "Linkability",
    "search.column.inference": "Inference (worst)",
    "search.column.distance_ratio": "Distance ratio",
    "search.column.family": "Weights",
    "search.column.utility": "Utility",
    "search.family.octopize": "Octopize (unbounded, no noise)",
    "search.family.noise": "bounded, noise {noise}",
    "search.family.coupled": "bounded, coupled noise {noise}",
    "search.result.chosen": "chosen",
    "search.result.missed": "misses {missed}",
    "search.yes": "yes",
    "search.no": "no",
    "search.curve.title": "Privacy-utility curve ({rows} sampled rows)\ncircled: chosen, {verdict}",
    "search.curve.met": "meets every target",
    "search.curve.closest": "no riskier than the defaults",
    "search.curve.private": "meets every privacy target, not utility",
    "search.curve.utility_target": "utility target",
    "search.curve.risk_axis": "attack risk",
    "search.curve.utility_ratio": "utility (avatars / real)",
    "search.curve.utility_shapes": "utility (shapes and pair trends)",
    "search.curve.k_axis": "k (neighbours)",
    "fig.metrics_summary.title": "Metrics summary",
    "fig.metrics_summary.caption": "Each metric against its target: green bars meet it, red bars "
    "miss it.",
    # plain-language reading
    "reading.privacy_none": "No privacy metric has been computed for this table.",
    "reading.privacy_count": "{passed} of {total} computed privacy metrics meet their target.",
    "reading.privacy_failed": "Targets missed: {names}. See the residual risk per attack.",
    "reading.privacy_all_met": "Every computed privacy target is met, even under the worst-case "
    "attack where the attacker holds both the original and the avatar tables.",
    "reading.not_computed": "Not computed: {names}.",
    "reading.hidden_rate": "Hidden rate {value} %: an attacker linking each individual to the "
    "most similar avatar would be wrong for {value} % of individuals.",
    "reading.local_cloaking": "Local cloaking {value}: for the median individual, {value} "
    "avatars look more like them than their own avatar.",
    "reading.row_direct_match_protection": "{value} % of original individuals do not appear "
    "unchanged among the avatars.",
    "reading.correlation_protection_rate": "{value} % of individuals cannot be linked to their "
    "avatar from the variables assumed known.",
    "reading.singling_out_risk": "Singling out risk {value} %: the share of real individuals an "
    "attacker can isolate beyond chance.",
    "reading.linkability_risk": "Linkability risk {value} %: the share of links between partial "
    "records an attacker gets right beyond chance.",
    "reading.inference_risk": "Inference risk {value} %: how much better than chance an attacker "
    "guesses a secret attribute.",
    "reading.signal_none": "No signal metric has been computed for this table.",
    "reading.quality_good": "well preserved",
    "reading.quality_fair": "moderately preserved",
    "reading.quality_poor": "poorly preserved",
    "reading.hellinger": "Mean Hellinger distance {value}: the distribution of each variable is "
    "{quality} (0 = identical, 1 = disjoint).",
    "reading.correlation_difference_ratio": "Correlations between continuous variables differ "
    "by {value} % on average.",
    # technical report
    "tech.title": "Avatarization technical report",
    "tech.title_run": "Avatarization technical report: {run}",
    "tech.footer": "Veil technical report · {run}",
    "tech.table_heading": "Table {table}",
    "tech.reading": "Reading of the results",
    "tech.dataset": "Dataset summary",
    "tech.dataset_line": "{rows} original rows, {columns} columns; {avatar_rows} avatar rows.",
    "tech.column": "Column",
    "tech.type": "Type",
    "tech.missing": "Missing",
    "tech.distinct": "Distinct values",
    "tech.privacy_metrics": "Privacy metrics",
    "tech.privacy_intro": "Each metric is computed between the original table and the avatars "
    "in original order, and marked pass or fail against its target.",
    "tech.signal_metrics": "Signal metrics",
    "tech.figures": "Key figures",
    "tech.parameters": "Parameters used",
    "tech.parameter": "Parameter",
    "tech.no_parameters": "No parameters were recorded for this run.",
    "tech.method": "Method and definitions",
    "tech.attack_model": "The privacy metrics assume the worst case: the attacker holds both the "
    "original and the anonymized tables and links each individual to its most resembling "
    "avatar by distance. The criteria are those of the European Data Protection Board: "
    "singling out, linkability and inference.",
    # PIA report
    "pia.title": "Privacy impact assessment: risk analysis",
    "pia.purpose_heading": "Purpose of this analysis",
    "pia.purpose": "This analysis helps determine whether the residual risk is compatible with "
    "the intended use of the data and with its level of sensitivity. The technical evaluation "
    "quantifies the re-identification risk of each attack; this analysis evaluates the "
    "likelihood of such attacks and the resources an attacker would need to carry them out.",
    "pia.context_heading": "Context of the processing",
    "pia.field": "Field",
    "pia.value": "Value",
    "pia.unset": "not set: strictest assumption",
    "pia.field.sensitivity_level": "Sensitivity level",
    "pia.field.data_type": "Data type",
    "pia.field.data_subject": "Data subjects",
    "pia.field.data_recipient": "Data recipient",
    "pia.tier": "Privacy targets applied: {tier}.",
    "pia.tier.strict": "strict",
    "pia.tier.standard": "standard",
    "pia.tier.light": "light",
    "pia.tier.strict.why": "The data is very sensitive, its sensitivity is not set, or the avatars "
    "may be widely shared: the strictest targets apply.",
    "pia.tier.standard.why": "The data is sensitive or shared outside the organization under "
    "safeguards: targets are slightly relaxed.",
    "pia.tier.light.why": "The data is of limited sensitivity and stays in a controlled "
    "environment: targets are relaxed.",
    "pia.attack_model_heading": "Attack model",
    "pia.likelihood": "Likelihood of an attack",
    "pia.exposure.unknown": "The recipient is not known, so the avatars are assumed to be "
    "available to anyone, as in open data.",
    "pia.exposure.opendata": "The avatars are published as open data: anyone, including a "
    "motivated attacker with auxiliary data, can access them.",
    "pia.exposure.outside_eu": "The avatars leave the European Union, where GDPR safeguards may "
    "not be enforceable.",
    "pia.exposure.contractual_thirdparty": "The avatars go to a third party bound by a "
    "contract that forbids re-identification.",
    "pia.exposure.trusted_thirdparty": "The avatars go to a trusted third party with audited "
    "safeguards.",
    "pia.exposure.internal": "The avatars stay inside the organization, under its own access "
    "controls.",
    "pia.attractiveness": "Attractiveness of the data to an attacker, from its sensitivity, type "
    "and subjects: {level}.",
    "pia.factor": "Factor",
    "pia.level": "Level",
    "pia.factor.exposure": "Exposure (recipient)",
    "pia.factor.attractiveness": "Attractiveness (sensitivity)",
    "pia.factor.likelihood": "Likelihood of an attack",
    "pia.likelihood_rule": "The likelihood is the mean of exposure and attractiveness, rounded "
    "up. When it is significant or maximum, a missed target raises the residual risk by one "
    "level.",
    "pia.residual_heading": "Residual risk per attack: table {table}",
    "pia.attack.singling_out": "Singling out",
    "pia.attack.singling_out.what": "Can an attacker isolate one real individual, for example "
    "by finding the avatar that copies them?",
    "pia.attack.singling_out.resources": "Resources needed: the avatar table and precise "
    "knowledge of the target's attributes; the worst case also assumes the original table.",
    "pia.attack.linkability": "Linkability",
    "pia.attack.linkability.what": "Can an attacker link records about the same individual, "
    "using variables they already know (age, sex, place)?",
    "pia.attack.linkability.resources": "Resources needed: an auxiliary dataset holding the "
    "known variables of real individuals, and matching skills.",
    "pia.attack.inference": "Inference",
    "pia.attack.inference.what": "Can an attacker deduce a sensitive attribute of an individual "
    "from the variables they know?",
    "pia.attack.inference.resources": "Resources needed: the known variables of the target and "
    "a model fitted on the avatars.",
    "pia.technical_risk": "Technical risk:",
    "pia.technical.low": "low: every computed metric meets its target.",
    "pia.technical.moderate": "moderate: one metric misses its target.",
    "pia.technical.high": "high: several metrics miss their target.",
    "pia.technical.not_assessed": "not assessed: none of its metrics was computed.",
    "pia.residual.not_assessed": "not assessed",
    "pia.residual_risk": "Residual risk:",
    "pia.residual_why": "given a likelihood of attack that is {likelihood}.",
    "pia.conclusion_heading": "Conclusion",
    "pia.conclusion.compatible": "Table {table}: the residual risk is compatible with the "
    "intended use and the sensitivity of the data.",
    "pia.conclusion.incompatible": "Table {table}: the residual risk is not compatible with the "
    "intended use as declared; do not share the avatars before acting on it.",
    "pia.conclusion.incomplete": "Table {table}: no assessed attack exceeds a limited residual "
    "risk, but these attacks could not be assessed: {attacks}. The analysis cannot conclude "
    "before they are.",
    "pia.recommendation.assess": "To assess linkability and inference, give the privacy metrics "
    "the variables an attacker may know (known_variables) and a sensitive variable (target), "
    "then run them again.",
    "pia.recommendations": "Recommended actions:",
    "pia.recommendation.1": "increase k or lower the number of components used for the "
    "neighbours, then run the privacy metrics again;",
    "pia.recommendation.2": "remove or generalize direct identifiers and rare values before "
    "avatarization;",
    "pia.recommendation.3": "restrict the recipients (contract, internal use) or the variables "
    "shared;",
    "pia.recommendation.4": "document the remaining risk and its acceptance by the controller.",
    "pia.signoff": "To be completed by the controller: purpose of the processing, safeguards, "
    "opinion of the data protection officer, date and signature.",
    # enum values
    "enum.sensitivity.Very High": "Very high",
    "enum.sensitivity.High": "High",
    "enum.sensitivity.Medium": "Medium",
    "enum.sensitivity.Low": "Low",
    "enum.sensitivity.Very Low": "Very low",
    "enum.sensitivity.Negligible": "Negligible",
    "enum.sensitivity.Undefined": "Undefined",
    "enum.data_type.unknown": "Unknown",
    "enum.data_type.health": "Health",
    "enum.data_type.hr": "Human resources",
    "enum.data_type.mobility": "Mobility",
    "enum.data_type.insurance": "Insurance",
    "enum.data_type.finance": "Finance",
    "enum.data_type.education": "Education",
    "enum.data_subject.unknown": "Unknown",
    "enum.data_subject.patients": "Patients",
    "enum.data_subject.employees": "Employees",
    "enum.data_subject.clients": "Clients",
    "enum.data_subject.users": "Users",
    "enum.data_subject.students": "Students",
    "enum.data_recipient.unknown": "Unknown",
    "enum.data_recipient.opendata": "Open data",
    "enum.data_recipient.contractual_thirdparty": "Third party under contract",
    "enum.data_recipient.internal": "Internal use",
    "enum.data_recipient.outside_eu": "Recipient outside the EU",
    "enum.data_recipient.trusted_thirdparty": "Trusted third party",
    # risk levels (CNIL scale)
    "level.negligible": "negligible",
    "level.limited": "limited",
    "level.significant": "significant",
    "level.maximum": "maximum",
    # The same levels qualifying a feminine noun in French (likelihood, exposure).
    "level_f.negligible": "negligible",
    "level_f.limited": "limited",
    "level_f.significant": "significant",
    "level_f.maximum": "maximum",
    # multi-table runs (linked tables)
    "linked.heading": "Linked tables",
    "linked.intro": "This run links {count} tables: each child row belongs to one parent row. "
    "Each table was avatarized with its children summarised per row and its parents' variables "
    "on its rows; avatar children were then given avatar parents by their link's method. "
    "Keys are new: they say nothing of the original keys.",
    "linked.link": "Link (parent → child)",
    "linked.method": "Method",
    "linked.child_rows": "Child rows (original / avatar)",
    "linked.per_parent": "Children per parent (original / avatar)",
    "linked.childless": "Parents without children (original / avatar)",
    "linked.count_distance": "Child-count distance",
    "linked.method.linear_sum_assignment": "linear sum assignment",
    "linked.method.minimum_distance_assignment": "minimum distance assignment",
    "linked.method.sensitive_original_order_assignment": "original order (SENSITIVE)",
    "linked.method.time_series": "time series",
    "linked.breach": "Privacy breach: the link {link} uses sensitive_original_order_assignment. "
    "Its avatar children keep their original parents, so the released link structure is the "
    "original one: how many children each individual has, and which rows belong together. "
    "Use linear_sum_assignment or minimum_distance_assignment before releasing these tables.",
    "linked.computations": "Privacy by computation type",
    "linked.computations_intro": "A multi-table run is attacked from several sides: each table "
    "alone (standalone), a parent with its children summarised (to_top_enriched), a child whose "
    "rows are traced back to their individual (to_bottom_id_propagated), the same enriched with "
    "every parent's variables (full_enriched). The verdicts above rest on the standalone result "
    "(a child table, whose rows are not individuals, on the weakest of the others): a side "
    "marked fail here is a weakness they do not show.",
    "linked.computation_type": "Computation type",
    "linked.reference": "Other table",
    "linked.type.standalone": "standalone",
    "linked.type.to_top_enriched": "to_top_enriched",
    "linked.type.to_bottom_id_propagated": "to_bottom_id_propagated",
    "linked.type.full_enriched": "full_enriched",
    "linked.type.barycentered": "barycentered",
    "linked.type.class_balancing_barycenter": "class_balancing_barycenter",
    "pia.linked_heading": "Linked tables",
    "pia.linked_link": "{link}: avatar children assigned by {method}.",
    "pia.linked_breach_verdict": "Table {table}: not compatible with an anonymous release, "
    "because its link to its parent kept the original structure (see the linked tables "
    "section).",
}
