//! Where a node's posterior table has blocks and how many cells each gets
//! (see [`crate::analysis::posterior_table`] for the table itself): blocks
//! as fine as the narrowest class near them needs, tabulated only where
//! their train samples pay for the evaluations, within a size budget.

use crate::analysis::kde::Kde;

/// Table spacing: nodes per bandwidth of the narrowest class that matters
/// in a block. With the midpoints, every feature of a class's density is
/// checked at 16 points per bandwidth; where the cubic is not accurate
/// enough at this spacing the block is refined or computed directly. (On
/// real networks 6 to 12 give the same accuracy, coarser being faster.)
const TABLE_CELLS_PER_H: f64 = 8.0;
/// A class matters for a block's spacing if one of its values is within
/// this many of its bandwidths of the block. Further away its density is
/// below e^-50 of a kernel peak and its log posterior is the smooth far
/// tail of a few kernels (checked at every midpoint like the rest).
const TABLE_REACH_H: f64 = 10.0;
/// Table block width, in bandwidths of the node's narrowest class ...
const TABLE_BLOCK_H: f64 = 4.0;
/// ... but at most this many blocks per node.
const MAX_TABLE_BLOCKS: usize = 2048;
/// Fewest cells of a tabulated block.
const MIN_BLOCK_CELLS: f64 = 2.0;
/// Blocks that would need more cells are left to the direct path (a class
/// with a tiny bandwidth, e.g. a nearly constant one).
const MAX_BLOCK_CELLS: f64 = 4096.0;
/// A block is tabulated if its train samples are at least this fraction of
/// the direct evaluations tabulating it costs (nodes and midpoints). Each
/// sample of a block left out costs a direct evaluation per split it is
/// evaluated on (in a sorted batch, about as costly as one of the table's),
/// against a cheap interpolation in a tabulated block. On real networks
/// anything from 0.25 to 1 gives about the same total time.
const TABULATE_SAMPLES_PER_EVAL: f64 = 0.5;
/// Largest posterior table (nodes); beyond it the blocks with the fewest
/// samples per evaluation are left to the direct path.
const MAX_TABLE_NODES: usize = 16384;
/// The layout of a node's posterior table.
pub(crate) struct TablePlan {
    /// Start of block 0.
    pub(crate) lo: f64,
    /// Block width.
    pub(crate) block: f64,
    /// Cells per block (0: left to the direct path).
    pub(crate) cells: Vec<u32>,
    /// Decides which blocks with marked cells are tabulated again.
    pub(crate) refiner: Refiner,
}

/// A block with marked cells (whose samples take the direct path) is
/// tabulated again at twice the density if the samples in those cells
/// (assumed spread evenly over the block) pay for it, within what is left
/// of the size budget.
pub(crate) struct Refiner {
    /// Train samples per block that the table serves.
    count: Vec<u32>,
    /// Table nodes still available.
    budget: usize,
}

impl Refiner {
    /// The new number of cells of block `b`, tabulated with `m` cells of
    /// which `marked` failed the check.
    pub(crate) fn refine(&mut self, b: usize, m: u32, marked: usize) -> u32 {
        let in_marked = f64::from(self.count[b]) * marked as f64 / f64::from(m);
        let more = 2 * m;
        let cost = 4.0 * f64::from(m) + 3.0;
        if f64::from(more) <= MAX_BLOCK_CELLS
            && more as usize + 3 <= self.budget
            && in_marked >= TABULATE_SAMPLES_PER_EVAL * cost
        {
            self.budget -= more as usize + 3;
            more
        } else {
            m
        }
    }
}

impl TablePlan {
    /// Plans the table of a node with these class KDEs over the range of
    /// their values; samples at `hot_values` (precomputed elsewhere) do not
    /// count. None when nothing is worth tabulating.
    pub(crate) fn new(kdes: &[Option<Kde>], hot_values: &[f64]) -> Option<TablePlan> {
        let fitted = || kdes.iter().flatten();
        let h_min = fitted().map(Kde::bandwidth).fold(f64::INFINITY, f64::min);
        let lo = fitted().map(Kde::min).fold(f64::INFINITY, f64::min);
        let hi = fitted().map(Kde::max).fold(f64::NEG_INFINITY, f64::max);
        let span = hi - lo;
        if !(span > 0.0 && h_min > 0.0) {
            return None;
        }
        let block = (TABLE_BLOCK_H * h_min).max(span / MAX_TABLE_BLOCKS as f64);
        // span / block <= MAX_TABLE_BLOCKS, so this is small; hi is inside.
        let n_blocks = (span / block) as usize + 1;
        let inv_block = 1.0 / block;
        let block_of = |x: f64| (((x - lo) * inv_block).max(0.0) as usize).min(n_blocks - 1);
        // The smallest bandwidth of the classes with a value near each
        // block, and the train samples per block that the table would serve
        // (hot values have their own precomputed posteriors).
        let mut need = vec![f64::INFINITY; n_blocks];
        let mut count = vec![0u32; n_blocks];
        for kde in fitted() {
            let (h, reach) = (kde.bandwidth(), TABLE_REACH_H * kde.bandwidth());
            // Values are ascending, so the blocks they reach are too: only
            // a value reaching past the blocks marked so far (up to
            // `marked_to`) marks more.
            let (mut next, mut marked_to) = (0, f64::NEG_INFINITY);
            // Current block of the values and where it ends.
            let (mut b, mut b_end) = (0, f64::NEG_INFINITY);
            for (v, n) in kde.values_with_counts() {
                if v + reach >= marked_to {
                    let (first, last) = (block_of(v - reach).max(next), block_of(v + reach));
                    for need in need.iter_mut().take(last + 1).skip(first) {
                        *need = need.min(h);
                    }
                    next = next.max(last + 1);
                    marked_to = lo + next as f64 * block;
                }
                if v >= b_end {
                    b = block_of(v);
                    b_end = lo + (b + 1) as f64 * block;
                }
                if !hot_values.contains(&v) {
                    count[b] += n;
                }
            }
        }
        let mut cells: Vec<u32> = need
            .iter()
            .zip(&count)
            .map(|(&h, &n)| {
                let m = (TABLE_CELLS_PER_H * block / h).ceil().max(MIN_BLOCK_CELLS);
                // m is NaN-free: h > 0 (inf for blocks no class reaches).
                if m > MAX_BLOCK_CELLS || f64::from(n) < TABULATE_SAMPLES_PER_EVAL * (2.0 * m + 3.0)
                {
                    0
                } else {
                    m as u32
                }
            })
            .collect();
        let nodes = |cells: &[u32]| -> usize {
            cells
                .iter()
                .filter(|&&m| m > 0)
                .map(|&m| m as usize + 3)
                .sum()
        };
        let mut total = nodes(&cells);
        if total > MAX_TABLE_NODES {
            // Drop the blocks with the fewest samples per evaluation first.
            let mut order: Vec<usize> = (0..n_blocks).filter(|&b| cells[b] > 0).collect();
            let worth = |b: usize| f64::from(count[b]) / (2.0 * f64::from(cells[b]) + 3.0);
            order.sort_by(|&a, &b| worth(a).total_cmp(&worth(b)).then(a.cmp(&b)));
            for b in order {
                if total <= MAX_TABLE_NODES {
                    break;
                }
                total -= cells[b] as usize + 3;
                cells[b] = 0;
            }
        }
        if total == 0 {
            return None;
        }
        Some(TablePlan {
            lo,
            block,
            cells,
            refiner: Refiner {
                count,
                budget: MAX_TABLE_NODES - total,
            },
        })
    }
}
