"""French messages of the figures and reports (`ReportLanguage.FR`).

Same keys and placeholders as messages_en.EN. Vocabulary follows the CNIL: individualisation,
corrélation and inférence for the three EDPB criteria; négligeable, limité, important, maximal
for risk levels.
"""

from __future__ import annotations

FR: dict[str, str] = {
    # common
    "common.not_computed": "non calculé",
    "common.no_target": "sans objectif",
    "common.pass": "atteint",
    "common.fail": "non atteint",
    "common.metric": "Métrique",
    "common.value": "Valeur",
    "common.target": "Objectif",
    "common.result": "Résultat",
    "common.run": "Exécution : {run}",
    "common.generated_at": "Généré le {when}",
    "common.page": "Page {page}",
    # metric names
    "metric.hidden_rate": "Taux de dissimulation",
    "metric.local_cloaking": "Camouflage local",
    "metric.distance_to_closest": "Distance au plus proche",
    "metric.closest_distances_ratio": "Rapport des distances les plus proches",
    "metric.closest_rate": "Taux d'éloignement",
    "metric.row_direct_match_protection": "Protection contre les copies de lignes",
    "metric.column_direct_match_protection": "Protection contre les identifiants directs",
    "metric.categorical_hidden_rate": "Taux de dissimulation catégoriel",
    "metric.singling_out_risk": "Risque d'individualisation",
    "metric.correlation_protection_rate": "Taux de protection contre la corrélation",
    "metric.linkability_risk": "Risque de corrélation",
    "metric.inference_continuous": "Protection contre l'inférence (continue)",
    "metric.inference_categorical": "Protection contre l'inférence (catégorielle)",
    "metric.inference_risk": "Risque d'inférence",
    "metric.knowledge_protection_rate": "Taux de protection face à la connaissance",
    "metric.linkability_protection_rate": "Taux de protection contre la liaison",
    "metric.inference_accuracy_ratio": "Ratio de précision d'inférence",
    "metric.hellinger_mean": "Distance de Hellinger (moyenne)",
    "metric.hellinger_std": "Distance de Hellinger (écart-type)",
    "metric.pointwise_hellinger_mean": "Distance de Hellinger par instant (moyenne)",
    "metric.pointwise_hellinger_std": "Distance de Hellinger par instant (écart-type)",
    "metric.density_hellinger_mean": "Distance de Hellinger de tous les relevés (moyenne)",
    "metric.density_hellinger_std": "Distance de Hellinger de tous les relevés (écart-type)",
    "metric.series_length_mean_original": "Relevés par série, originaux (moyenne)",
    "metric.series_length_mean_avatar": "Relevés par série, avatars (moyenne)",
    "metric.correlation_difference_ratio": "Écart des corrélations",
    "metric.column_shapes_score": "Score de forme des colonnes",
    "metric.pair_trends_score": "Score de tendance des paires de colonnes",
    "metric.ml_utility_ratio": "Ratio d'utilité en apprentissage",
    "metric.ml_utility_real": "Score du modèle entraîné sur les originaux",
    "metric.ml_utility_avatar": "Score du modèle entraîné sur les avatars",
    "metric.ml_utility_chance": "Score du hasard",
    # metric definitions
    "desc.hidden_rate": "part des individus dont l'avatar le plus ressemblant n'est pas le leur : "
    "la fréquence à laquelle un attaquant disposant des deux tables se trompe en les reliant.",
    "desc.local_cloaking": "nombre médian d'avatars qui ressemblent davantage à un individu que "
    "l'avatar généré à partir de lui.",
    "desc.distance_to_closest": "distance médiane entre chaque avatar et l'original le plus "
    "proche ; 0 signifie que des avatars copient des originaux.",
    "desc.closest_distances_ratio": "rapport médian entre la distance au plus proche et au "
    "deuxième plus proche original ; proche de 1, aucun original n'isole l'avatar.",
    "desc.closest_rate": "part des avatars qui ne sont pas à la fois très proches d'un original "
    "et isolés des autres.",
    "desc.row_direct_match_protection": "part des individus originaux qui n'apparaissent pas "
    "à l'identique parmi les avatars.",
    "desc.column_direct_match_protection": "plus faible protection, sur l'ensemble des colonnes, "
    "contre l'usage d'une colonne comme identifiant direct ; 0 signifie qu'un identifiant a été "
    "conservé.",
    "desc.categorical_hidden_rate": "taux de dissimulation lorsque l'attaquant ne compare que "
    "les variables catégorielles choisies.",
    "desc.singling_out_risk": "risque, façon anonymeter (en %), que des requêtes construites "
    "sur les avatars isolent exactement un individu réel.",
    "desc.correlation_protection_rate": "part des individus qu'un attaquant ne peut pas relier "
    "à leur avatar à partir des variables supposées connues.",
    "desc.linkability_risk": "risque, façon anonymeter (en %), de relier deux "
    "enregistrements partiels d'un même individu grâce aux avatars.",
    "desc.inference_continuous": "erreur commise par un attaquant qui devine une variable "
    "sensible continue à partir des variables connues ; plus elle est élevée, mieux c'est.",
    "desc.inference_categorical": "taux d'erreur d'un attaquant qui devine une variable sensible "
    "catégorielle à partir des variables connues ; plus il est élevé, mieux c'est.",
    "desc.inference_risk": "risque, façon anonymeter (en %), de deviner un attribut secret "
    "mieux que le hasard.",
    "desc.knowledge_protection_rate": "part (%) des individus qu'un attaquant connaissant les "
    "variables connues ne peut pas isoler parmi les avatars (le taux de protection des "
    "corrélations).",
    "desc.linkability_protection_rate": "100 moins le risque de liaison (%) : combien peu les "
    "avatars aident à relier des enregistrements entre deux ensembles de variables.",
    "desc.inference_accuracy_ratio": "précision (%) de l'inférence de la cible à partir des "
    "variables connues avec des enregistrements réels, rapportée à celle obtenue avec les "
    "avatars ; 100 = aussi facile, plus de 100 = plus difficile avec les avatars.",
    "desc.hellinger_mean": "moyenne sur les variables de la distance de Hellinger entre les "
    "distributions originales et avatars ; 0 = identiques, 1 = disjointes.",
    "desc.hellinger_std": "écart-type de ces distances par variable.",
    "desc.pointwise_hellinger_mean": "pour une série temporelle, à chaque point de la grille "
    "de temps commune et pour chaque variable, la distance de Hellinger entre valeurs originales "
    "et avatars ; moyenne sur les points et les variables (0 = identiques, 1 = disjointes).",
    "desc.pointwise_hellinger_std": "écart-type de ces distances par instant.",
    "desc.density_hellinger_mean": "pour une série temporelle, la distance de Hellinger entre "
    "tous les relevés originaux et tous les relevés avatars d'une variable, regroupés sur le "
    "temps et les individus ; moyenne sur les variables.",
    "desc.density_hellinger_std": "écart-type de ces distances par variable.",
    "desc.series_length_mean_original": "nombre moyen de relevés par série originale.",
    "desc.series_length_mean_avatar": "nombre moyen de relevés par série avatar.",
    "desc.correlation_difference_ratio": "écart absolu moyen entre les corrélations de Pearson "
    "originales et avatars des variables continues, en pourcentage.",
    "desc.column_shapes_score": "similarité moyenne (de 0 à 1) de la distribution de chaque "
    "colonne, comme le « column shapes » de SDMetrics (1 = identique).",
    "desc.pair_trends_score": "similarité moyenne (de 0 à 1) de la relation entre chaque paire "
    "de colonnes, comme le « column pair trends » de SDMetrics.",
    "desc.ml_utility_ratio": "score d'un modèle entraîné sur les avatars divisé par celui du "
    "même modèle entraîné sur les originaux, tous deux testés sur des données réelles.",
    "desc.ml_utility_real": "score d'un modèle entraîné sur les originaux (test sur données "
    "réelles).",
    "desc.ml_utility_avatar": "score du même modèle entraîné sur les avatars.",
    "desc.ml_utility_chance": "score d'un modèle qui n'a rien appris (AUC 0,5, exactitude de la "
    "classe majoritaire, R2 0) ; quand le modèle entraîné sur les originaux ne fait pas mieux, la "
    "cible n'est pas prévisible et le rapport d'utilité n'est pas calculé.",
    # column kinds
    "kind.numeric": "numérique",
    "kind.categorical": "catégorielle",
    "kind.boolean": "booléenne",
    "kind.datetime": "date/heure",
    # figures
    "fig.original": "Original",
    "fig.avatars": "Avatars",
    "fig.density": "Densité",
    "fig.missing": "(manquant)",
    "fig.other": "(autres)",
    "fig.share": "Part des lignes",
    "fig.agg.mean_ratio": "Moyenne avatar, % de l'original",
    "fig.agg.std_ratio": "Écart-type avatar, % de l'original",
    "fig.agg.column": "Colonne",
    "fig.agg.mean_original": "Moyenne (original)",
    "fig.agg.mean_avatars": "Moyenne (avatars)",
    "fig.agg.std_original": "Écart-type (original)",
    "fig.agg.std_avatars": "Écart-type (avatars)",
    "fig.corr_diff.axis": "|corrélation originale - avatar|",
    "fig.contribution.axis": "Contribution (%)",
    "fig.summary.axis": "Valeur rapportée à l'objectif (1 = objectif, à droite = atteint)",
    "fig.unavailable": "Cette figure n'a pas pu être tracée pour cette table.",
    "fig.no_numeric": "Cette table a moins de deux colonnes numériques à comparer.",
    "fig.no_metrics": "Aucune métrique avec objectif n'a encore été calculée.",
    "fig.distribution.title": "Distributions",
    "fig.distribution.title_column": "Distribution de {column}",
    "fig.distribution.caption": "Valeurs originales en gris, avatars en vert, sur les mêmes "
    "intervalles.",
    "fig.aggregate_stats.title": "Moyenne et écart-type",
    "fig.aggregate_stats.caption": "Moyenne et écart-type des avatars pour les premières "
    "colonnes numériques, en pourcentage des valeurs originales (100 % = identiques) ; valeurs "
    "brutes ci-dessous.",
    "fig.correlation.title": "Corrélations",
    "fig.correlation.caption": "Corrélations de Pearson entre variables continues : original à "
    "gauche, avatars à droite.",
    "fig.correlation_difference.title": "Écart des corrélations",
    "fig.correlation_difference.caption": "Écart absolu entre les corrélations originales et "
    "avatars ; le blanc indique une relation conservée.",
    "fig.2d_projection.title": "Projection 2D",
    "fig.2d_projection.caption": "Originaux (gris) et avatars (vert) sur les deux premières "
    "dimensions ; les avatars doivent couvrir le même espace sans se superposer aux originaux.",
    "fig.3d_projection.title": "Projection 3D",
    "fig.3d_projection.caption": "Originaux et avatars sur les trois premières dimensions.",
    "fig.3d_projection.caption_refit": "Originaux et avatars sur les trois premières dimensions "
    "d'une projection ajustée sur les originaux pour cette figure (l'exécution n'en a gardé "
    "que deux).",
    "fig.3d_projection.hint": "faire glisser pour tourner",
    "fig.3d_projection.no_script": "Activez JavaScript pour faire tourner cette projection.",
    "fig.2d_projection.too_few": "La projection compte moins de deux dimensions.",
    "fig.3d_projection.too_few": "La projection compte moins de trois dimensions.",
    "fig.contribution.title": "Contributions des variables",
    "fig.contribution.caption": "Part de chaque variable dans les premières dimensions de la "
    "projection.",
    "fig.class_projection_2d.title": "Classes dans la projection 2D",
    "fig.class_projection_2d.caption": "Originaux (à gauche) et lignes produites (à droite) sur "
    "les deux premières dimensions, colorés selon la classe de la colonne cible de l'augmentation "
    "; les marqueurs creux sont les lignes ajoutées par l'augmentation de données, de nouveaux "
    "avatars tirés parmi les voisins de leurs originaux.",
    "fig.class_projection_2d.output": "Sortie (avatars et lignes ajoutées)",
    "fig.class_projection_2d.extra": "{label}, ajoutées",
    # avatarization features (reports/features.py)
    "feat.open_dp.heading": "Confidentialité différentielle : Open DP",
    "feat.open_dp.what": "Les lignes de cette table ont été produites par Open DP, un générateur "
    "différentiellement privé de bout en bout : chaque statistique apprise des données (étendues "
    "des colonnes, catégories, comptages à une et deux variables) a été publiée par un mécanisme "
    "d'OpenDP, et les lignes ont été tirées d'un modèle ajusté sur ces seules publications "
    "bruitées. Aucune ligne produite ne descend d'un original.",
    "feat.open_dp.loss": "Perte de confidentialité de la publication, calculée par la comptabilité "
    "d'OpenDP elle-même : ε = {epsilon}, δ = {delta}. Ajouter ou retirer une personne change la "
    "probabilité de tout résultat d'un facteur e^ε au plus, sauf avec une probabilité δ.",
    "feat.open_dp.split": "Répartition du budget : une part {ratio} de ε a décrit les colonnes ; "
    "le reste a choisi et mesuré les relations entre colonnes que garde le modèle.",
    "feat.open_dp.public": "Public, et donc non protégé par la garantie : le schéma de la table et "
    "les bornes déclarées par son propriétaire dans ses métadonnées. Rien d'autre n'a été lu dans "
    "les données sans bruit.",
    "feat.accountant": "Comptabilité : {accountant}.",
    "feat.fast_dp.heading": "Fast DP (pas de confidentialité différentielle de bout en bout)",
    "feat.fast_dp.not_dp": "Attention : Fast DP n'est PAS une méthode différentiellement privée de "
    "bout en bout. Ne présentez pas cette table comme différentiellement privée.",
    "feat.fast_dp.what": "Les lignes ont été tirées d'un modèle paramétrique ({mechanism}) dont "
    "les paramètres ont été bruités avec un budget ε = {epsilon}.",
    "feat.fast_dp.bounds": "Les valeurs numériques ont été bornées aux percentiles [{percentile}, "
    "100 - {percentile}] des données, lus dans les données sans bruit : ces bornes, et donc la "
    "publication dans son ensemble, ne sont pas couvertes par le ε ci-dessus.",
    "feat.augmentation.heading": "Augmentation de données",
    "feat.augmentation.multiplier": "Stratégie : multiplicateur {factor} (la table compte environ "
    "{factor} fois les lignes de l'original, proportions des classes conservées).",
    "feat.augmentation.minority": "Stratégie : minority (la classe la plus rare de la colonne "
    "cible portée à l'effectif de la majoritaire).",
    "feat.augmentation.not_majority": "Stratégie : not_majority (chaque classe de la colonne cible "
    "portée à l'effectif de la majoritaire).",
    "feat.augmentation.shares": "Stratégie : parts cibles de la sortie par modalité ({shares}) ; "
    "des lignes sont seulement ajoutées.",
    "feat.augmentation.target": "Colonne cible : {column}.",
    "feat.target.heading": "Colonne cible nommée",
    "feat.target.what": "{column} a été désignée comme la colonne que les analystes "
    "modéliseront (target_column). Ses valeurs ont été décodées sans le bruit local : chaque "
    "avatar prend la modalité majoritaire pondérée de ses voisins (une catégorie) ou leur "
    "moyenne pondérée (un nombre) au lieu d'un tirage au hasard parmi eux ; toutes les autres "
    "colonnes ont gardé le bruit. Un modèle entraîné sur les avatars garde davantage la "
    "relation entre {column} et les autres colonnes, et les scores d'utilité de ce rapport "
    "prédisent {column} sauf si les métriques nomment une autre cible.",
    "feat.target.risk": "Le coût porte sur cette colonne : un attaquant qui connaît les autres "
    "attributs d'une personne et trouve les avatars les plus proches d'elle lit la valeur "
    "typique de {column} dans ce voisinage, que le bruit aurait brouillée. Le risque "
    "d'inférence avec {column} pour secret est le chiffre à vérifier (les métriques de "
    "confidentialité le mesurent quand known_variables est renseigné). Mesuré avec le protocole "
    "d'anonymeter sur des tables publiques (docs/benchmarks.md, « A named target column »), "
    "ce risque a augmenté de 2 à 3 points en moyenne sur 40 graines (german_credit de 0,135 "
    "à 0,163, titanic de 0,125 à 0,142), dans les intervalles d'anonymeter, la "
    "singularisation, la liaison et le rapport de distances restant au niveau des réglages "
    "par défaut.",
    "feat.augmentation.how": "Les lignes ajoutées sont de nouveaux avatars : toute la table est de "
    "nouveau avatarisée avec de nouveaux poids aléatoires, et les nouveaux avatars des originaux "
    "de la classe sont gardés. Chacun est un barycentre pondéré de voisins, jamais la copie d'une "
    "ligne.",
    "feat.augmentation.dp": "Les lignes ajoutées ont été tirées du même modèle différentiellement "
    "privé : un post-traitement, qui ne consomme aucun budget supplémentaire.",
    "feat.augmentation.sensitive": "SENSIBLE : should_anonymize_original_table valait false, la "
    "sortie contient donc les lignes ORIGINALES à côté des lignes ajoutées.",
    "feat.augmentation.metrics": "Une personne qui a plusieurs descendants est plus exposée qu'une "
    "personne qui n'a qu'un avatar : les métriques de confidentialité ont aussi été calculées "
    "entre chaque original et le barycentre de ses descendants (barycentered), et pour les seuls "
    "originaux qui ont reçu des lignes ajoutées (class_balancing_barycenter).",
    "feat.augmentation.computation": "Calcul",
    "feat.augmentation.barycentered": "barycentered",
    "feat.augmentation.class_balancing_barycenter": "class_balancing_barycenter",
    "feat.processors.heading": "Processeurs côté serveur",
    "feat.processors.what": "Ces transformations ont été appliquées dans cet ordre avant la "
    "génération, et défaites dans l'ordre inverse après elle, pour que les relations qu'elles "
    "expriment tiennent dans chaque ligne produite.",
    "feat.processors.order": "Ordre",
    "feat.processors.keeps": "Relation conservée",
    "feat.processors.relative": "{target} reste du même côté de {references} (différence relative)",
    "feat.processors.inter_record": "pour chaque {id}, la fin {end} de chaque enregistrement après "
    "son début {start}, enregistrements dans l'ordre (différence d'intervalles entre "
    "enregistrements)",
    "feat.pseudo.heading": "Pseudonymisation",
    "feat.pseudo.what": "Ces colonnes sont des identifiants directs : elles ont été mises de côté "
    "avant la génération et remplacées par des pseudonymes dans la sortie.",
    "feat.pseudo.mapping": "La table de correspondance entre valeurs originales et pseudonymes "
    "reste sur le serveur avec l'exécution : seul son propriétaire peut la télécharger, et elle "
    "est supprimée avec l'exécution.",
    "feat.pseudo.hash": "Les pseudonymes HASH_SHA256 sont calculés avec une clé secrète tirée pour "
    "cette exécution (HMAC-SHA256) : un simple hachage d'un nom ou d'un identifiant pourrait être "
    "inversé en hachant un dictionnaire de candidats.",
    "feat.pseudo.dp": "Avec un générateur DP, aucune ligne produite ne descend d'un original : "
    "chaque pseudonyme a été tiré à neuf, indépendamment des données, et aucune correspondance "
    "n'est gardée.",
    "feat.pseudo.column": "Colonne",
    "feat.pseudo.kind": "Type",
    "feat.pseudo.detail": "Type de donnée ou motif",
    # recherche de paramètres guidée par les cibles (reports/features.py, advice_curve.py)
    "search.heading": "Recherche de paramètres guidée par les cibles de confidentialité",
    "search.what": "Avant cette exécution, le conseil a essayé {count} jeux de paramètres (k, le "
    "poids maximal, le bruit local) sur un échantillon de {rows} lignes : à chaque essai il a "
    "avatarisé 70 % de l'échantillon, attaqué les avatars avec les 30 % restants comme contrôle "
    "(individualisation, corrélation, inférence, distance à l'avatar le plus proche) et mesuré "
    "l'utilité ({utility}).",
    "search.splits": "Chaque risque d'attaque compte ensemble les attaques de {splits} partages "
    "aléatoires de l'échantillon, et chaque autre valeur est la moyenne sur {splits} partages "
    "aléatoires : un seul partage d'un petit échantillon est trop bruité pour classer les jeux "
    "de paramètres.",
    "search.unmeasured": "L'inférence sur {secrets} n'a pas pu être mesurée sur l'échantillon : "
    "moins de {rows} lignes de contrôle ont une autre valeur que la plus fréquente, le pire "
    "risque d'inférence de chaque jeu ne la compte donc pas. Risque du jeu retenu et intervalle "
    "à 95 % : {figures}. À vérifier avec les métriques de confidentialité de la table entière.",
    "search.unmeasured_all": "L'inférence sur {secrets} n'a pas pu être mesurée sur "
    "l'échantillon : moins de {rows} lignes de contrôle ont une autre valeur que la plus "
    "fréquente. Aucun secret essayé n'a pu être mesuré, le pire risque d'inférence les compte "
    "donc quand même. Risque du jeu retenu et intervalle à 95 % : {figures}. À vérifier avec les "
    "métriques de confidentialité de la table entière.",
    "search.utility.ml_utility_ratio": "score d'un modèle entraîné sur les avatars rapporté à "
    "celui d'un modèle entraîné sur les lignes réelles",
    "search.utility.column_shapes_and_pair_trends": "formes des colonnes et tendances des paires",
    "search.met": "Le jeu le plus utile qui atteint toutes les cibles a été retenu : "
    "{parameters} ; cible limitante : {binding} (un jeu plus utile la manquait).",
    "search.met_unbound": "Le jeu le plus utile qui atteint toutes les cibles a été retenu : "
    "{parameters} ; aucune cible n'a limité le choix (le jeu le plus utile les atteint toutes).",
    "search.missed": "Aucun jeu essayé n'atteint toutes les cibles sur l'échantillon ; retenu : "
    "{parameters} (les paramètres par défaut de Veil, ou un jeu au moins aussi protecteur sur "
    "chaque mesure). Il manque : {missed}.",
    "search.private": "Aucun jeu essayé n'atteint toutes les cibles sur l'échantillon ; retenu : "
    "{parameters}, le jeu le plus utile qui atteint toutes les cibles de confidentialité (la "
    "confidentialité passe d'abord). Il manque la cible d'utilité : un modèle entraîné sur ses "
    "avatars perd {loss} par rapport à un modèle entraîné sur les lignes réelles (cible : au "
    "plus {target}).",
    "search.run_used": "Cette exécution a utilisé les paramètres retenus.",
    "search.k_grown": "La table a {rows} lignes, plus que l'échantillon : k passe de {sample_k} "
    "à {k} (k x (rapport des lignes)^(1/3) ; à k égal, les attaques trouvent les voisins plus "
    "proches d'une table plus grande).",
    "search.table_check_met": "Vérifiés sur {where} ({train} lignes avatarisées à k={k}, le "
    "reste en contrôle), les paramètres retenus atteignent toutes les cibles : {figures}.",
    "search.table_check_missed": "Vérifiés sur {where} ({train} lignes avatarisées à k={k}, le "
    "reste en contrôle), les paramètres retenus manquent : {missed} ; {figures}.",
    "search.table_check.whole": "la table",
    "search.table_check.draw": "un tirage de {rows} de ses lignes",
    "search.run_other": "Cette exécution a utilisé d'autres paramètres que ceux conseillés : "
    "{parameters}.",
    "search.sample_note": "Les valeurs d'un échantillon sont plus bruitées que les métriques de "
    "la table entière ci-dessus, qui sont celles à valider.",
    "search.caption": "Courbe confidentialité-utilité de la recherche : k en abscisse ; en haut, "
    "chaque risque d'attaque par famille de paramètres face à sa cible (traits fins) ; en bas, "
    "l'utilité (avec sa cible, en pointillés, quand la prédiction d'une colonne la mesure) ; "
    "entouré : le jeu retenu.",
    "search.target.hidden_rate": "taux de dissimulation",
    "search.target.local_cloaking": "camouflage local",
    "search.target.singling_out": "risque d'individualisation",
    "search.target.linkability": "risque de corrélation",
    "search.target.inference": "pire risque d'inférence",
    "search.target.distance_ratio": "rapport des distances hors échantillon/apprentissage",
    "search.target.unique_copies": "copies de lignes uniques",
    "search.target.utility_loss": "perte d'utilité",
    "search.column.singling_out": "Individualisation",
    "search.column.linkability": "Corrélation",
    "search.column.inference": "Inférence (pire)",
    "search.column.distance_ratio": "Rapport des distances",
    "search.column.family": "Poids",
    "search.column.utility": "Utilité",
    "search.family.octopize": "Octopize (non bornés, sans bruit)",
    "search.family.noise": "bornés, bruit {noise}",
    "search.family.coupled": "bornés, bruit couplé {noise}",
    "search.result.chosen": "retenu",
    "search.result.missed": "manque : {missed}",
    "search.yes": "oui",
    "search.no": "non",
    "search.curve.title": "Courbe confidentialité-utilité ({rows} lignes échantillonnées)\n"
    "entouré : retenu, {verdict}",
    "search.curve.met": "atteint toutes les cibles",
    "search.curve.closest": "pas plus risqué que les défauts",
    "search.curve.private": "atteint les cibles de confidentialité, pas l'utilité",
    "search.curve.utility_target": "cible d'utilité",
    "search.curve.risk_axis": "risque d'attaque",
    "search.curve.utility_ratio": "utilité (avatars / réel)",
    "search.curve.utility_shapes": "utilité (formes et tendances des paires)",
    "search.curve.k_axis": "k (voisins)",
    "fig.metrics_summary.title": "Synthèse des métriques",
    "fig.metrics_summary.caption": "Chaque métrique face à son objectif : les barres vertes "
    "l'atteignent, les rouges non.",
    # plain-language reading
    "reading.privacy_none": "Aucune métrique de confidentialité n'a été calculée pour cette table.",
    "reading.privacy_count": "{passed} métriques de confidentialité calculées sur {total} "
    "atteignent leur objectif.",
    "reading.privacy_failed": "Objectifs non atteints : {names}. Voir le risque résiduel par "
    "attaque.",
    "reading.privacy_all_met": "Tous les objectifs de confidentialité calculés sont atteints, "
    "même dans le pire cas où l'attaquant détient la table originale et la table d'avatars.",
    "reading.not_computed": "Non calculées : {names}.",
    "reading.hidden_rate": "Taux de dissimulation de {value} % : un attaquant qui relie chaque "
    "individu à l'avatar le plus ressemblant se tromperait pour {value} % des individus.",
    "reading.local_cloaking": "Camouflage local de {value} : pour l'individu médian, {value} "
    "avatars lui ressemblent davantage que son propre avatar.",
    "reading.row_direct_match_protection": "{value} % des individus originaux n'apparaissent "
    "pas à l'identique parmi les avatars.",
    "reading.correlation_protection_rate": "{value} % des individus ne peuvent pas être reliés "
    "à leur avatar à partir des variables supposées connues.",
    "reading.singling_out_risk": "Risque d'individualisation de {value} % : la part des "
    "individus réels qu'un attaquant isole au-delà du hasard.",
    "reading.linkability_risk": "Risque de corrélation de {value} % : la part des liens entre "
    "enregistrements partiels qu'un attaquant trouve au-delà du hasard.",
    "reading.inference_risk": "Risque d'inférence de {value} % : de combien un attaquant devine "
    "un attribut secret mieux que le hasard.",
    "reading.signal_none": "Aucune métrique d'utilité n'a été calculée pour cette table.",
    "reading.quality_good": "bien conservée",
    "reading.quality_fair": "moyennement conservée",
    "reading.quality_poor": "mal conservée",
    "reading.hellinger": "Distance de Hellinger moyenne de {value} : la distribution de chaque "
    "variable est {quality} (0 = identique, 1 = disjointe).",
    "reading.correlation_difference_ratio": "Les corrélations entre variables continues "
    "diffèrent de {value} % en moyenne.",
    # technical report
    "tech.title": "Rapport technique d'avatarisation",
    "tech.title_run": "Rapport technique d'avatarisation : {run}",
    "tech.footer": "Rapport technique Veil · {run}",
    "tech.table_heading": "Table {table}",
    "tech.reading": "Lecture des résultats",
    "tech.dataset": "Résumé du jeu de données",
    "tech.dataset_line": "{rows} lignes originales, {columns} colonnes ; {avatar_rows} lignes "
    "d'avatars.",
    "tech.column": "Colonne",
    "tech.type": "Type",
    "tech.missing": "Manquants",
    "tech.distinct": "Valeurs distinctes",
    "tech.privacy_metrics": "Métriques de confidentialité",
    "tech.privacy_intro": "Chaque métrique est calculée entre la table originale et les avatars "
    "dans l'ordre original, puis marquée atteinte ou non atteinte selon son objectif.",
    "tech.signal_metrics": "Métriques d'utilité",
    "tech.figures": "Figures clés",
    "tech.parameters": "Paramètres utilisés",
    "tech.parameter": "Paramètre",
    "tech.no_parameters": "Aucun paramètre n'a été enregistré pour cette exécution.",
    "tech.method": "Méthode et définitions",
    "tech.attack_model": "Les métriques de confidentialité supposent le pire cas : l'attaquant "
    "détient la table originale et la table anonymisée, et relie chaque individu à l'avatar qui "
    "lui ressemble le plus selon une distance. Les critères sont ceux du Comité européen de la "
    "protection des données : individualisation, corrélation et inférence.",
    # PIA report
    "pia.title": "Analyse d'impact relative à la protection des données : analyse de risque",
    "pia.purpose_heading": "Objet de cette analyse",
    "pia.purpose": "Cette analyse aide à déterminer si le risque résiduel est compatible avec "
    "l'usage prévu des données et avec leur niveau de sensibilité. L'évaluation technique "
    "quantifie le risque de réidentification de chaque attaque ; cette analyse évalue la "
    "vraisemblance de ces attaques et les moyens qu'un attaquant devrait mobiliser pour les "
    "mener.",
    "pia.context_heading": "Contexte du traitement",
    "pia.field": "Champ",
    "pia.value": "Valeur",
    "pia.unset": "non renseigné : hypothèse la plus stricte",
    "pia.field.sensitivity_level": "Niveau de sensibilité",
    "pia.field.data_type": "Type de données",
    "pia.field.data_subject": "Personnes concernées",
    "pia.field.data_recipient": "Destinataire des données",
    "pia.tier": "Objectifs de confidentialité appliqués : {tier}.",
    "pia.tier.strict": "stricts",
    "pia.tier.standard": "standard",
    "pia.tier.light": "allégés",
    "pia.tier.strict.why": "Les données sont très sensibles, leur sensibilité n'est pas "
    "renseignée, ou les avatars peuvent être largement diffusés : les objectifs les plus "
    "stricts s'appliquent.",
    "pia.tier.standard.why": "Les données sont sensibles ou partagées hors de l'organisme avec "
    "des garanties : les objectifs sont légèrement assouplis.",
    "pia.tier.light.why": "Les données sont peu sensibles et restent dans un environnement "
    "maîtrisé : les objectifs sont assouplis.",
    "pia.attack_model_heading": "Modèle d'attaque",
    "pia.likelihood": "Vraisemblance d'une attaque",
    "pia.exposure.unknown": "Le destinataire n'est pas connu : les avatars sont supposés "
    "accessibles à tous, comme en open data.",
    "pia.exposure.opendata": "Les avatars sont publiés en open data : n'importe qui, y compris un "
    "attaquant motivé disposant de données auxiliaires, peut y accéder.",
    "pia.exposure.outside_eu": "Les avatars quittent l'Union européenne, où les garanties du "
    "RGPD peuvent ne pas être opposables.",
    "pia.exposure.contractual_thirdparty": "Les avatars sont confiés à un tiers lié par un "
    "contrat qui interdit la réidentification.",
    "pia.exposure.trusted_thirdparty": "Les avatars sont confiés à un tiers de confiance dont "
    "les garanties sont auditées.",
    "pia.exposure.internal": "Les avatars restent au sein de l'organisme, sous ses propres "
    "contrôles d'accès.",
    "pia.attractiveness": "Attrait des données pour un attaquant, selon leur sensibilité, leur "
    "type et les personnes concernées : {level}.",
    "pia.factor": "Facteur",
    "pia.level": "Niveau",
    "pia.factor.exposure": "Exposition (destinataire)",
    "pia.factor.attractiveness": "Attrait (sensibilité)",
    "pia.factor.likelihood": "Vraisemblance d'une attaque",
    "pia.likelihood_rule": "La vraisemblance est la moyenne de l'exposition et de l'attrait, "
    "arrondie au niveau supérieur. Lorsqu'elle est importante ou maximale, un objectif non "
    "atteint augmente le risque résiduel d'un niveau.",
    "pia.residual_heading": "Risque résiduel par attaque : table {table}",
    "pia.attack.singling_out": "Individualisation",
    "pia.attack.singling_out.what": "Un attaquant peut-il isoler un individu réel, par exemple "
    "en trouvant l'avatar qui le copie ?",
    "pia.attack.singling_out.resources": "Moyens nécessaires : la table d'avatars et une "
    "connaissance précise des attributs de la cible ; le pire cas suppose aussi la table "
    "originale.",
    "pia.attack.linkability": "Corrélation",
    "pia.attack.linkability.what": "Un attaquant peut-il relier des enregistrements concernant "
    "un même individu, à l'aide de variables qu'il connaît déjà (âge, sexe, lieu) ?",
    "pia.attack.linkability.resources": "Moyens nécessaires : un jeu de données auxiliaire "
    "contenant les variables connues d'individus réels, et un savoir-faire d'appariement.",
    "pia.attack.inference": "Inférence",
    "pia.attack.inference.what": "Un attaquant peut-il déduire un attribut sensible d'un "
    "individu à partir des variables qu'il connaît ?",
    "pia.attack.inference.resources": "Moyens nécessaires : les variables connues de la cible et "
    "un modèle ajusté sur les avatars.",
    "pia.technical_risk": "Risque technique :",
    "pia.technical.low": "faible : chaque métrique calculée atteint son objectif.",
    "pia.technical.moderate": "modéré : une métrique n'atteint pas son objectif.",
    "pia.technical.high": "élevé : plusieurs métriques n'atteignent pas leur objectif.",
    "pia.technical.not_assessed": "non évalué : aucune de ses métriques n'a été calculée.",
    "pia.residual.not_assessed": "non évalué",
    "pia.residual_risk": "Risque résiduel :",
    "pia.residual_why": "compte tenu d'une vraisemblance d'attaque jugée {likelihood}.",
    "pia.conclusion_heading": "Conclusion",
    "pia.conclusion.compatible": "Table {table} : le risque résiduel est compatible avec l'usage "
    "prévu et la sensibilité des données.",
    "pia.conclusion.incompatible": "Table {table} : le risque résiduel n'est pas compatible avec "
    "l'usage prévu tel que déclaré ; ne partagez pas les avatars avant d'y remédier.",
    "pia.conclusion.incomplete": "Table {table} : aucune attaque évaluée ne dépasse un risque "
    "résiduel limité, mais ces attaques n'ont pas pu être évaluées : {attacks}. L'analyse ne "
    "peut conclure avant leur évaluation.",
    "pia.recommendation.assess": "Pour évaluer la corrélation et l'inférence, indiquez aux "
    "métriques de confidentialité les variables qu'un attaquant peut connaître (known_variables) "
    "et une variable sensible (target), puis relancez-les.",
    "pia.recommendations": "Actions recommandées :",
    "pia.recommendation.1": "augmenter k ou réduire le nombre de composantes utilisées pour les "
    "voisins, puis recalculer les métriques de confidentialité ;",
    "pia.recommendation.2": "supprimer ou généraliser les identifiants directs et les valeurs "
    "rares avant l'avatarisation ;",
    "pia.recommendation.3": "restreindre les destinataires (contrat, usage interne) ou les "
    "variables partagées ;",
    "pia.recommendation.4": "documenter le risque restant et son acceptation par le responsable "
    "de traitement.",
    "pia.signoff": "À compléter par le responsable de traitement : finalité du traitement, "
    "garanties, avis du délégué à la protection des données, date et signature.",
    # enum values
    "enum.sensitivity.Very High": "Très élevé",
    "enum.sensitivity.High": "Élevé",
    "enum.sensitivity.Medium": "Moyen",
    "enum.sensitivity.Low": "Faible",
    "enum.sensitivity.Very Low": "Très faible",
    "enum.sensitivity.Negligible": "Négligeable",
    "enum.sensitivity.Undefined": "Non défini",
    "enum.data_type.unknown": "Inconnu",
    "enum.data_type.health": "Santé",
    "enum.data_type.hr": "Ressources humaines",
    "enum.data_type.mobility": "Mobilité",
    "enum.data_type.insurance": "Assurance",
    "enum.data_type.finance": "Finance",
    "enum.data_type.education": "Éducation",
    "enum.data_subject.unknown": "Inconnues",
    "enum.data_subject.patients": "Patients",
    "enum.data_subject.employees": "Salariés",
    "enum.data_subject.clients": "Clients",
    "enum.data_subject.users": "Utilisateurs",
    "enum.data_subject.students": "Élèves et étudiants",
    "enum.data_recipient.unknown": "Inconnu",
    "enum.data_recipient.opendata": "Open data",
    "enum.data_recipient.contractual_thirdparty": "Tiers sous contrat",
    "enum.data_recipient.internal": "Usage interne",
    "enum.data_recipient.outside_eu": "Destinataire hors UE",
    "enum.data_recipient.trusted_thirdparty": "Tiers de confiance",
    # risk levels (CNIL scale)
    "level.negligible": "négligeable",
    "level.limited": "limité",
    "level.significant": "important",
    "level.maximum": "maximal",
    # Accordés au féminin : vraisemblance, exposition.
    "level_f.negligible": "négligeable",
    "level_f.limited": "limitée",
    "level_f.significant": "importante",
    "level_f.maximum": "maximale",
    # multi-table runs (linked tables)
    "linked.heading": "Tables liées",
    "linked.intro": "Ce traitement lie {count} tables : chaque ligne enfant appartient à une "
    "ligne parente. Chaque table a été avatarisée avec ses enfants résumés par ligne et les "
    "variables de ses parents sur ses lignes ; les enfants avatars ont ensuite reçu des parents "
    "avatars selon la méthode de leur lien. Les clés sont nouvelles : elles ne disent rien des "
    "clés d'origine.",
    "linked.link": "Lien (parent → enfant)",
    "linked.method": "Méthode",
    "linked.child_rows": "Lignes enfants (originales / avatars)",
    "linked.per_parent": "Enfants par parent (originaux / avatars)",
    "linked.childless": "Parents sans enfant (originaux / avatars)",
    "linked.count_distance": "Distance des nombres d'enfants",
    "linked.method.linear_sum_assignment": "affectation linéaire (linear sum assignment)",
    "linked.method.minimum_distance_assignment": "distance minimale",
    "linked.method.sensitive_original_order_assignment": "ordre d'origine (SENSIBLE)",
    "linked.method.time_series": "séries temporelles",
    "linked.breach": "Atteinte à la vie privée : le lien {link} utilise "
    "sensitive_original_order_assignment. Ses enfants avatars gardent leurs parents d'origine : "
    "la structure des liens publiée est celle d'origine (combien d'enfants a chaque individu, "
    "quelles lignes vont ensemble). Utilisez linear_sum_assignment ou "
    "minimum_distance_assignment avant de publier ces tables.",
    "linked.computations": "Confidentialité par type de calcul",
    "linked.computations_intro": "Un traitement multi-tables est attaqué par plusieurs côtés : "
    "chaque table seule (standalone), un parent avec ses enfants résumés (to_top_enriched), un "
    "enfant dont les lignes sont rattachées à leur individu (to_bottom_id_propagated), le même "
    "enrichi des variables de tous ses parents (full_enriched). Les verdicts ci-dessus reposent "
    "sur le résultat standalone (pour une table enfant, dont les lignes ne sont pas des "
    "individus, sur le plus faible des autres) : un côté marqué non atteint ici est une "
    "faiblesse qu'ils ne montrent pas.",
    "linked.computation_type": "Type de calcul",
    "linked.reference": "Autre table",
    "linked.type.standalone": "standalone",
    "linked.type.to_top_enriched": "to_top_enriched",
    "linked.type.to_bottom_id_propagated": "to_bottom_id_propagated",
    "linked.type.full_enriched": "full_enriched",
    "linked.type.barycentered": "barycentered",
    "linked.type.class_balancing_barycenter": "class_balancing_barycenter",
    "pia.linked_heading": "Tables liées",
    "pia.linked_link": "{link} : enfants avatars affectés par {method}.",
    "pia.linked_breach_verdict": "Table {table} : incompatible avec une publication anonyme, car "
    "son lien à son parent a gardé la structure d'origine (voir la section des tables liées).",
}
