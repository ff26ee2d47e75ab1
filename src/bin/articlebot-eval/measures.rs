//! The arithmetic of the evaluation: a seeded PRNG for tie-breaking, rankings with random
//! ties, average precision and reciprocal rank, and bootstrap intervals. Plain functions over
//! numbers, with no knowledge of the data set or the library (the integration tests and the
//! benchmarks' generator include this file as it is).

use serde::Serialize;

/// A small deterministic PRNG (SplitMix64) for tie-breaking.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Indices of `scores`, best first; exact ties in random order drawn from `rng`.
pub fn rank_with_random_ties(scores: &[f64], rng: &mut SplitMix64) -> Vec<usize> {
    let keys: Vec<u64> = scores.iter().map(|_| rng.next_u64()).collect();
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(keys[a].cmp(&keys[b])));
    order
}

/// Average precision and reciprocal rank of a ranking (`order`: indices, best first) against
/// `labels`. `None` when no label is set.
pub fn average_precision(order: &[usize], labels: &[bool]) -> Option<(f64, f64)> {
    let relevant = labels.iter().filter(|&&l| l).count();
    if relevant == 0 {
        return None;
    }
    let mut hits = 0usize;
    let mut sum = 0.0;
    let mut rr = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        if labels[i] {
            hits += 1;
            sum += hits as f64 / (rank + 1) as f64;
            if hits == 1 {
                rr = 1.0 / (rank + 1) as f64;
            }
        }
    }
    Some((sum / relevant as f64, rr))
}

/// MAP and MRR of one system.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measure {
    pub map: f64,
    pub mrr: f64,
}

/// AP and RR of each question, for their means and intervals.
#[derive(Debug, Default)]
pub struct Accumulator {
    pub ap: Vec<f64>,
    pub rr: Vec<f64>,
}

impl Accumulator {
    pub fn add(&mut self, order: &[usize], labels: &[bool]) {
        if let Some((ap, rr)) = average_precision(order, labels) {
            self.ap.push(ap);
            self.rr.push(rr);
        }
    }

    pub fn measure(&self) -> Measure {
        Measure {
            map: mean(&self.ap),
            mrr: mean(&self.rr),
        }
    }
}

pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Bootstrap resamples behind each interval.
const BOOTSTRAP_SAMPLES: usize = 2000;

/// The 95% percentile-bootstrap interval of the mean of `values` (resampling questions with
/// replacement, [`BOOTSTRAP_SAMPLES`] times): how far the figure could move on another draw
/// of questions like these.
pub fn bootstrap_ci95(values: &[f64], rng: &mut SplitMix64) -> [f64; 2] {
    if values.is_empty() {
        return [0.0, 0.0];
    }
    let n = values.len();
    let mut means: Vec<f64> = (0..BOOTSTRAP_SAMPLES)
        .map(|_| {
            let sum: f64 = (0..n)
                .map(|_| values[(rng.next_u64() % n as u64) as usize])
                .sum();
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((BOOTSTRAP_SAMPLES - 1) as f64 * q).round() as usize];
    [at(0.025), at(0.975)]
}

/// NDCG at `k` of a ranking (`order`: candidate indices, best first) against graded `gains`
/// (one per candidate, 0 for an unjudged one): DCG with linear gains and a log2 discount, over
/// the DCG of the best possible order. `None` when no candidate has a gain above 0.
pub fn ndcg_at(k: usize, order: &[usize], gains: &[f64]) -> Option<f64> {
    let dcg = |g: &mut dyn Iterator<Item = f64>| -> f64 {
        g.take(k)
            .enumerate()
            .map(|(i, x)| x / ((i + 2) as f64).log2())
            .sum()
    };
    let mut ideal: Vec<f64> = gains.to_vec();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let best = dcg(&mut ideal.into_iter());
    if best <= 0.0 {
        return None;
    }
    Some(dcg(&mut order.iter().map(|&i| gains[i])) / best)
}
