//! Seeded shuffling, independent of libtorch's generator so that the order of samples is
//! reproducible on any device.

use crate::rng::SplitMix64;

/// The sample order of one epoch: a permutation of `0..n` determined by seed and epoch.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<i64> {
    let mut rng = SplitMix64::new(seed ^ (epoch as u64).wrapping_mul(0xa076_1d64_78bd_642f));
    let mut order: Vec<i64> = (0..n as i64).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_permutations_fixed_by_seed_and_epoch() {
        let a = epoch_order(1000, 7, 1);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..1000).collect::<Vec<i64>>());
        assert_eq!(a, epoch_order(1000, 7, 1));
        assert_ne!(a, epoch_order(1000, 7, 2));
        assert_ne!(a, epoch_order(1000, 8, 1));
    }
}
