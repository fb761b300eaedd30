//! Linear layers in 8-bit integers: the encoder's int8 precision.
//!
//! Weights are quantised once, at load, per output channel and symmetric to
//! seven bits (±63); activations per token (row), asymmetric to eight bits
//! (0–255, with 0.0 exact). A product is then integer dot products of u8
//! activations and i8 weights, and one multiply-add per output to bring it
//! back to f32: `y[i, j] = sa[i]·sw[j]·(Σₖ qa[i,k]·qw[k,j] − za[i]·Σₖ qw[k,j])`.
//!
//! Kernels, chosen at run time: AVX-512 VNNI (`vpdpbusd`: 64 u8×i8 products
//! per instruction) where the CPU has it, else AVX2 (`vpmaddubsw` +
//! `vpmaddwd`), whose 16-bit pair sums saturate above 32,767 — the reason
//! weights take seven bits, not eight: 2·255·63 = 32,130 fits, so every
//! kernel computes the same integers and int8 vectors do not depend on the
//! CPU. `QUARRY_INT8_KERNEL=avx2` forces the AVX2 kernel (tests compare the
//! two). Written here because no crate on this tree does u8×i8 products
//! with run-time VNNI dispatch (candle 0.10's quantised types are GGUF
//! blocks for its own matmul; rten-gemm would be a second GEMM library).

use rayon::prelude::*;

/// Output columns per packed block: one 512-bit register of i32 sums.
const COLUMNS: usize = 16;
/// Rows (tokens) per task: their quantised activations stay in L1 while
/// every packed weight block streams past from L2.
const ROWS_PER_TASK: usize = 48;
/// The largest magnitude of a quantised weight (see the module's note).
const WEIGHT_LEVELS: f32 = 63.0;

/// Which kernel computes the integer products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    Avx512Vnni,
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU runs, unless `QUARRY_INT8_KERNEL=avx2`.
    /// (Quarry is built for x86-64-v3, so AVX2 is always there.)
    pub fn detect() -> Kernel {
        let has_vnni = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni");
        Self::choose(std::env::var("QUARRY_INT8_KERNEL").ok().as_deref(), has_vnni)
    }

    fn choose(forced: Option<&str>, has_vnni: bool) -> Kernel {
        let forced_avx2 = forced.is_some_and(|k| k.trim().eq_ignore_ascii_case("avx2"));
        if has_vnni && !forced_avx2 {
            Kernel::Avx512Vnni
        } else {
            Kernel::Avx2
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512Vnni => "avx512-vnni",
            Kernel::Avx2 => "avx2",
        }
    }
}

thread_local! {
    /// Each thread's quantised activations and integer sums, reused from
    /// product to product instead of allocated per task.
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<i32>)> = std::cell::RefCell::default();
}

/// A linear layer's weight, `[inputs, outputs]`, quantised and packed:
/// for each block of 16 output columns, for each group of 4 inputs, the 16
/// columns' 4 bytes side by side (64 bytes: one VNNI operand).
pub(crate) struct QuantizedLinear {
    inputs: usize,
    /// Inputs rounded up to a multiple of 4 (the padding is zeros).
    padded_inputs: usize,
    outputs: usize,
    blocks: usize,
    packed: Vec<i8>,
    scales: Vec<f32>,
    column_sums: Vec<i32>,
    kernel: Kernel,
}

impl QuantizedLinear {
    /// Quantise `weight`, `[inputs, outputs]` row-major.
    pub(crate) fn new(weight: &[f32], inputs: usize, outputs: usize, kernel: Kernel) -> Self {
        assert_eq!(weight.len(), inputs * outputs);
        let padded_inputs = inputs.div_ceil(4) * 4;
        let blocks = outputs.div_ceil(COLUMNS);
        let mut scales = vec![0f32; blocks * COLUMNS];
        for (j, scale) in scales.iter_mut().enumerate().take(outputs) {
            let largest = (0..inputs)
                .map(|k| weight[k * outputs + j].abs())
                .fold(0f32, f32::max);
            *scale = if largest > 0.0 {
                largest / WEIGHT_LEVELS
            } else {
                1.0
            };
        }
        let mut packed = vec![0i8; blocks * padded_inputs * COLUMNS];
        let mut column_sums = vec![0i32; blocks * COLUMNS];
        for k in 0..inputs {
            for j in 0..outputs {
                let q = (weight[k * outputs + j] / scales[j])
                    .round()
                    .clamp(-WEIGHT_LEVELS, WEIGHT_LEVELS) as i8;
                let (block, column) = (j / COLUMNS, j % COLUMNS);
                packed[block * padded_inputs * COLUMNS + (k / 4) * 4 * COLUMNS + column * 4 + k % 4] = q;
                column_sums[j] += q as i32;
            }
        }
        QuantizedLinear {
            inputs,
            padded_inputs,
            outputs,
            blocks,
            packed,
            scales,
            column_sums,
            kernel,
        }
    }

    /// `out[m, outputs] += a[m, inputs] · weight`, all row-major.
    pub(crate) fn accumulate(&self, out: &mut [f32], a: &[f32], m: usize) {
        assert!(a.len() >= m * self.inputs && out.len() >= m * self.outputs);
        let (inputs, outputs) = (self.inputs, self.outputs);
        out[..m * outputs]
            .par_chunks_mut(ROWS_PER_TASK * outputs)
            .zip(a[..m * inputs].par_chunks(ROWS_PER_TASK * inputs))
            .for_each(|(out, a)| {
                SCRATCH.with(|scratch| {
                    let (quantised, sums) = &mut *scratch.borrow_mut();
                    let rows = a.len() / inputs;
                    let activations = quantise_rows(a, inputs, self.padded_inputs, quantised);
                    sums.clear();
                    sums.resize(rows * self.blocks * COLUMNS, 0);
                    self.integer_products(quantised, rows, sums);
                    let stride = self.blocks * COLUMNS;
                    for (i, (row_out, &(scale, zero))) in
                        out.chunks_exact_mut(outputs).zip(&activations).enumerate()
                    {
                        let row_sums = &sums[i * stride..][..outputs];
                        for (((o, &s), &w), &c) in row_out
                            .iter_mut()
                            .zip(row_sums)
                            .zip(&self.scales)
                            .zip(&self.column_sums)
                        {
                            *o += scale * w * (s - zero * c) as f32;
                        }
                    }
                })
            });
    }

    /// `sums[i, j] = Σₖ quantised[i, k]·qw[k, j]` for `rows` rows
    /// (`sums` is `[rows, blocks·16]`).
    fn integer_products(&self, quantised: &[u8], rows: usize, sums: &mut [i32]) {
        // Tiles of the kernel's height; the last rows of a task in a smaller one.
        let height = match self.kernel {
            Kernel::Avx512Vnni => 8,
            Kernel::Avx2 => 4,
        };
        for first in (0..rows).step_by(height) {
            let a = quantised[first * self.padded_inputs..].as_ptr();
            let out = sums[first * self.blocks * COLUMNS..].as_mut_ptr();
            match (self.kernel, (rows - first).min(height)) {
                // SAFETY: `detect` chose this kernel only where the CPU has
                // AVX-512 F, BW and VNNI.
                (Kernel::Avx512Vnni, 8) => unsafe { self.tile_vnni::<8>(a, out) },
                (Kernel::Avx512Vnni, 7) => unsafe { self.tile_vnni::<7>(a, out) },
                (Kernel::Avx512Vnni, 6) => unsafe { self.tile_vnni::<6>(a, out) },
                (Kernel::Avx512Vnni, 5) => unsafe { self.tile_vnni::<5>(a, out) },
                (Kernel::Avx512Vnni, 4) => unsafe { self.tile_vnni::<4>(a, out) },
                (Kernel::Avx512Vnni, 3) => unsafe { self.tile_vnni::<3>(a, out) },
                (Kernel::Avx512Vnni, 2) => unsafe { self.tile_vnni::<2>(a, out) },
                (Kernel::Avx512Vnni, _) => unsafe { self.tile_vnni::<1>(a, out) },
                // SAFETY: Quarry is built for x86-64-v3 (AVX2 and FMA).
                (Kernel::Avx2, 4) => unsafe { self.tile_avx2::<4>(a, out) },
                (Kernel::Avx2, 3) => unsafe { self.tile_avx2::<3>(a, out) },
                (Kernel::Avx2, 2) => unsafe { self.tile_avx2::<2>(a, out) },
                (Kernel::Avx2, _) => unsafe { self.tile_avx2::<1>(a, out) },
            }
        }
    }

    /// `ROWS` rows of quantised activations (at `a`) times every column,
    /// into `out`. `ROWS` is a constant so the tile's accumulators are
    /// registers: with the row count a variable, the compiler kept them
    /// in memory and reloaded them at every step.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tile_vnni<const ROWS: usize>(&self, a: *const u8, out: *mut i32) {
        use std::arch::x86_64::*;
        let groups = self.padded_inputs / 4;
        let stride = self.blocks * COLUMNS;
        // Two blocks (32 columns) × ROWS rows per step: each 64-byte weight
        // load serves every row of the tile.
        let mut block = 0;
        while block < self.blocks {
            let pair = (self.blocks - block).min(2);
            let mut acc = [[_mm512_setzero_si512(); 2]; ROWS];
            let weights = self.packed.as_ptr().add(block * groups * 4 * COLUMNS);
            let second = if pair == 2 { groups * 64 } else { 0 };
            for g in 0..groups {
                let w0 = _mm512_loadu_si512(weights.add(g * 64) as *const _);
                // With one block left, the second half repeats the first
                // and is not stored.
                let w1 = _mm512_loadu_si512(weights.add(second + g * 64) as *const _);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let four = (a.add(r * self.padded_inputs + g * 4) as *const i32).read_unaligned();
                    let x = _mm512_set1_epi32(four);
                    acc[0] = _mm512_dpbusd_epi32(acc[0], x, w0);
                    acc[1] = _mm512_dpbusd_epi32(acc[1], x, w1);
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                for (half, &sum) in acc.iter().enumerate().take(pair) {
                    let at = out.add(r * stride + (block + half) * COLUMNS);
                    _mm512_storeu_si512(at as *mut _, sum);
                }
            }
            block += pair;
        }
    }

    /// The AVX2 tile: one block (16 columns, two 256-bit halves) × `ROWS`
    /// rows per step (a constant, as in [`Self::tile_vnni`]).
    #[target_feature(enable = "avx2")]
    unsafe fn tile_avx2<const ROWS: usize>(&self, a: *const u8, out: *mut i32) {
        use std::arch::x86_64::*;
        let groups = self.padded_inputs / 4;
        let stride = self.blocks * COLUMNS;
        let ones = _mm256_set1_epi16(1);
        for block in 0..self.blocks {
            let mut acc = [[_mm256_setzero_si256(); 2]; ROWS];
            let weights = self.packed.as_ptr().add(block * groups * 4 * COLUMNS);
            for g in 0..groups {
                let w0 = _mm256_loadu_si256(weights.add(g * 64) as *const _);
                let w1 = _mm256_loadu_si256(weights.add(g * 64 + 32) as *const _);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let four = (a.add(r * self.padded_inputs + g * 4) as *const i32).read_unaligned();
                    let x = _mm256_set1_epi32(four);
                    // u8×i8 pairs summed to i16 (cannot saturate: the
                    // weights have seven bits), then pairs of those to i32.
                    acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones));
                    acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones));
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                let at = out.add(r * stride + block * COLUMNS);
                _mm256_storeu_si256(at as *mut _, acc[0]);
                _mm256_storeu_si256(at.add(8) as *mut _, acc[1]);
            }
        }
    }
}

/// Each row of `a` (`[rows, inputs]`) to u8 in `quantised` (`[rows,
/// padded]`, padding 0): its range, widened to hold 0.0, split in 255
/// steps. Returns each row's (scale, zero point).
fn quantise_rows(a: &[f32], inputs: usize, padded: usize, quantised: &mut Vec<u8>) -> Vec<(f32, i32)> {
    let rows = a.len() / inputs;
    quantised.clear();
    quantised.resize(rows * padded, 0);
    a.chunks_exact(inputs)
        .zip(quantised.chunks_exact_mut(padded))
        .map(|(row, out)| {
            let low = crate::forward::lanes(row, 0.0, f32::min, f32::min);
            let high = crate::forward::lanes(row, 0.0, f32::max, f32::max);
            let scale = if high > low { (high - low) / 255.0 } else { 1.0 };
            let zero = (-low / scale).round().clamp(0.0, 255.0);
            let inverse = 1.0 / scale;
            for (q, &v) in out.iter_mut().zip(row) {
                // Rounded to the nearest integer by landing in the low
                // mantissa bits of 2²³ + q (an `as u8` cast saturates and
                // would keep this loop scalar).
                let q_float = (v * inverse + zero).clamp(0.0, 255.0);
                *q = ((q_float + 8_388_608.0).to_bits() & 0xFF) as u8;
            }
            (scale, zero as i32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! Properties: both kernels compute exactly the integer products a
    //! plain loop computes on the same quantised operands (so int8 vectors
    //! do not depend on the CPU), and the whole product is within
    //! quantisation error of the f32 product.
    use super::*;

    /// A deterministic pseudo-random matrix with an outlier column, as BERT
    /// activations have.
    fn matrix(rows: usize, columns: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..rows * columns)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let v = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                if i % columns == 3 {
                    v * 20.0
                } else {
                    v
                }
            })
            .collect()
    }

    fn kernels() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Avx2];
        if std::arch::is_x86_feature_detected!("avx512vnni")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            kernels.push(Kernel::Avx512Vnni);
        }
        kernels
    }

    #[test]
    fn the_variable_forces_avx2_and_nothing_else_changes_the_choice() {
        assert_eq!(Kernel::choose(None, true), Kernel::Avx512Vnni);
        assert_eq!(Kernel::choose(Some("AVX2"), true), Kernel::Avx2);
        assert_eq!(Kernel::choose(Some("avx512-vnni"), true), Kernel::Avx512Vnni);
        assert_eq!(Kernel::choose(None, false), Kernel::Avx2);
        assert_eq!(
            Kernel::choose(Some("avx512-vnni"), false),
            Kernel::Avx2,
            "never a kernel the CPU lacks"
        );
    }

    #[test]
    fn every_kernel_computes_the_plain_loops_integers() {
        // Odd sizes: every tile height (1–8 rows, and more rows than one
        // tile), columns not a multiple of 16, inputs not of 4.
        let (k, n) = (38, 41);
        let w = matrix(k, n, 2);
        let mut quantised = Vec::new();
        for m in (1..=9).chain([53]) {
            let a = matrix(m, k, 1);
            for kernel in kernels() {
                let layer = QuantizedLinear::new(&w, k, n, kernel);
                quantise_rows(&a, k, layer.padded_inputs, &mut quantised);
                let stride = layer.blocks * COLUMNS;
                let mut sums = vec![0i32; m * stride];
                layer.integer_products(&quantised, m, &mut sums);
                for i in 0..m {
                    for j in 0..n {
                        let (block, column) = (j / COLUMNS, j % COLUMNS);
                        let want: i32 = (0..k)
                            .map(|kk| {
                                let q = layer.packed[block * layer.padded_inputs * COLUMNS
                                    + (kk / 4) * 4 * COLUMNS
                                    + column * 4
                                    + kk % 4];
                                quantised[i * layer.padded_inputs + kk] as i32 * q as i32
                            })
                            .sum();
                        assert_eq!(sums[i * stride + j], want, "{kernel:?}, {m} rows, at ({i}, {j})");
                    }
                }
            }
        }
    }

    #[test]
    fn the_product_is_the_f32_product_within_quantisation_error() {
        let (m, k, n) = (100, 384, 64);
        let a = matrix(m, k, 3);
        let w = matrix(k, n, 4);
        let mut exact = vec![0f32; m * n];
        for i in 0..m {
            for kk in 0..k {
                for j in 0..n {
                    exact[i * n + j] += a[i * k + kk] * w[kk * n + j];
                }
            }
        }
        let mut results = Vec::new();
        for kernel in kernels() {
            let mut out = vec![1f32; m * n]; // accumulates onto what is there
            QuantizedLinear::new(&w, k, n, kernel).accumulate(&mut out, &a, m);
            let (mut error, mut size) = (0f64, 0f64);
            for (o, e) in out.iter().zip(&exact) {
                error += ((o - 1.0 - e) as f64).powi(2);
                size += (*e as f64).powi(2);
            }
            let relative = (error / size).sqrt();
            assert!(relative < 0.02, "{kernel:?}: relative error {relative}");
            results.push(out);
        }
        for other in &results[1..] {
            assert_eq!(other, &results[0], "kernels differ");
        }
    }
}
