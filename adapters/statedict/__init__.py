"""Reading foreign state dicts, and identifying what they do not store from their BatchNorm statistics.

Shared by every adapter that loads other codebases' checkpoints, one concern per module (`layers`, `batchnorm`,
`identification`, `properties`, `priors`, `labels`), re-exported here:

- `group_modules`, `kind_of`, `natural_key`, `rename_modules`: tensors grouped by module
  prefix, what kind of layer each prefix is, and the renaming into an adapter's own keys.
- `identify`: a state dict stores shapes, not strides, paddings, activations, BatchNorm eps or
  how a label enters. A BatchNorm's running statistics are the batch statistics the net saw in
  training, and they depend on everything before the layer that feeds it (its geometry, the
  activation before it, the eps of the BatchNorm before that). So every candidate net is run
  on a probe batch and scored by how far its batch statistics are from the running ones; the
  best one is taken when it wins by a clear margin, the user is asked to choose when it does
  not, and a property that changes no statistic is taken by convention and reported as assumed.
  Combinations are scored one after another, and one whose partial misfit already exceeds
  that of every candidate `identify` could pick stops early (`search(..., bounded=True)`).
"""

from ganinv.weight_files import early_batches

from .batchnorm import (
    bn_discrepancy,
    bn_fit,
    bn_misfit,
    check_statistics_informative,
    initial_statistics,
    normalise_as_in_training,
    running_statistics,
)
from .identification import (
    DECIDED_RATIO,
    MIN_RATIO,
    POOR_FIT,
    POOR_FIT_SAID,
    Candidate,
    Property,
    cached_search,
    fmt,
    identify,
    identify_from_statistics,
    option_flag,
    probe_inputs,
    search,
    weak_margin,
)
from .labels import (
    MAX_CODES,
    NO_LINEAR_VIEW,
    codes_beside,
    input_means,
    label_fits,
    label_use,
    one_hot_run,
    onehot_condition,
    unnamed_label,
    unread_inputs,
)
from .layers import describe_tensors, group_modules, kind_of, natural_key, rename_modules
from .priors import (
    PRIOR_FLAGS,
    PRIOR_MEANS,
    PRIOR_PROBES,
    PRIOR_SPECS,
    PriorFromSpec,
    prior_decision,
    prior_mean,
    prior_parts,
    prior_probe,
    prior_scale_check,
)
from .properties import activation_and_eps, label_order, no_normalisation, visible_epsilons

__all__ = [
    "Candidate",
    "DECIDED_RATIO",
    "MAX_CODES",
    "MIN_RATIO",
    "NO_LINEAR_VIEW",
    "POOR_FIT",
    "POOR_FIT_SAID",
    "PRIOR_MEANS",
    "PRIOR_FLAGS",
    "PRIOR_PROBES",
    "PRIOR_SPECS",
    "PriorFromSpec",
    "Property",
    "activation_and_eps",
    "bn_discrepancy",
    "bn_fit",
    "bn_misfit",
    "cached_search",
    "check_statistics_informative",
    "codes_beside",
    "describe_tensors",
    "fmt",
    "group_modules",
    "identify",
    "identify_from_statistics",
    "initial_statistics",
    "early_batches",
    "input_means",
    "kind_of",
    "label_fits",
    "label_order",
    "label_use",
    "natural_key",
    "no_normalisation",
    "normalise_as_in_training",
    "one_hot_run",
    "onehot_condition",
    "option_flag",
    "prior_decision",
    "prior_mean",
    "prior_parts",
    "prior_probe",
    "prior_scale_check",
    "probe_inputs",
    "rename_modules",
    "running_statistics",
    "search",
    "unnamed_label",
    "unread_inputs",
    "visible_epsilons",
    "weak_margin",
]
