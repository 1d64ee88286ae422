"""The farmer process (spec/consensus.md §5 "Plotting", §6 "Farming"): a farm directory of
plotted sectors with a checksummed farm-info file, a background plotting thread (progress and
ETA, resume after an interruption, replotting of expired and corrupted sectors) and
`Farmer.solve`, which the node's slot worker calls every slot.

Modules:

* `farm_info`: the farm-info file and its typed errors (`FarmError`, `FarmInfoMismatch`,
  `CorruptedFarmInfo`);
* `progress`: `PlottingProgress` and the default one-line-per-sector reporter;
* `farm`: `Farmer`.

Usage (node side)::

    farmer = Farmer(directory, params, signer, reward_address, node.piece, sectors=4)
    farmer.start(history_size, segment_commitment)       # background plotting
    solutions = farmer.solve(slot, pot_output, solution_range, voting_range,
                             history_size, segment_commitment)   # [(distance, Solution)]
    farmer.stop()
"""

from chain.farmer.farm import STAGING_SUFFIX, FarmSector, Farmer, is_interrupted_plot_file, sector_file_name
from chain.farmer.farm_info import (
    FARM_INFO_FILE,
    CorruptedFarmInfo,
    FarmError,
    FarmInfo,
    FarmInfoMismatch,
    read_farm_info,
)
from chain.farmer.progress import PlottingProgress, ProgressPrinter, format_progress

__all__ = [
    "Farmer",
    "FarmSector",
    "FarmError",
    "FarmInfoMismatch",
    "CorruptedFarmInfo",
    "FarmInfo",
    "FARM_INFO_FILE",
    "read_farm_info",
    "PlottingProgress",
    "ProgressPrinter",
    "format_progress",
    "sector_file_name",
    "is_interrupted_plot_file",
    "STAGING_SUFFIX",
]
