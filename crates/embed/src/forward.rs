//! Quarry's own BERT encoder forward pass, in f32 (its linear layers
//! optionally in int8).
//!
//! Why not candle-transformers' `BertModel` (kept as the reference in
//! `tests/it/embed.rs`'s differential test): read in candle 0.10.2, its
//! attention runs the generic softmax (several single-threaded passes that
//! each allocate) with separate scale and mask adds, GELU calls scalar
//! `erff`, every bias, mask and residual add allocates a new tensor on one
//! thread, and texts of one call are padded to the longest. Here (1.7–2.6×
//! its speed in f32 on the same texts, `benches/embed.rs`):
//!
//! - the texts of a call are packed into one `[tokens, hidden]` matrix with
//!   no padding (no mask either: attention runs per text);
//! - Q, K and V are one product against their weights side by side;
//! - the bias is the product's starting value (`gemm` accumulates into it),
//!   and after attention and the feed-forward block the residual is too, so
//!   bias + residual + layer norm touch the activations once;
//! - the softmax's scale is folded into the scores' product, and softmax,
//!   GELU and layer norm are loops over rows the compiler vectorises, with
//!   `exp` and `erf` as polynomials (no libm call per element);
//! - one level of threading: the large products split across rayon's pool
//!   (gemm's own partitioning), attention runs one (text, head) per task
//!   with single-threaded products, row-wise passes split by rows;
//! - at int8 precision the linear layers' products are 8-bit integer
//!   products ([`crate::int8`]); everything else stays f32.
//!
//! The matrix products are the `gemm` crate's (the one candle uses), its
//! AVX2+FMA kernels chosen at run time. The rest is written here because
//! no crate fuses these steps over packed sequences.

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use gemm::{gemm, Parallelism};
use rayon::prelude::*;

use crate::int8::{Kernel, QuantizedLinear};

/// Rows per task in the row-wise passes (layer norm, GELU, bias): enough
/// work per task that rayon's overhead stays small.
const ROWS_PER_TASK: usize = 32;

/// A linear layer: its weight in the encoder's precision, its bias.
struct Linear {
    weight: Weight,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

enum Weight {
    /// `[inputs, outputs]` row-major (transposed at load, so products read
    /// it row by row).
    F32(Vec<f32>),
    Int8(QuantizedLinear),
}

impl Linear {
    fn new(weight: Tensor, bias: Tensor, arithmetic: Arithmetic) -> candle_core::Result<Self> {
        let (inputs, outputs) = weight.dims2()?;
        let matrix = flat(weight)?;
        Ok(Linear {
            weight: match arithmetic {
                Arithmetic::F32 => Weight::F32(matrix),
                Arithmetic::Int8(kernel) => {
                    Weight::Int8(QuantizedLinear::new(&matrix, inputs, outputs, kernel))
                }
            },
            bias: flat(bias)?,
            inputs,
            outputs,
        })
    }

    /// `out[m, outputs] += a[m, inputs] · weight`.
    fn accumulate(&self, out: &mut [f32], a: &[f32], m: usize) {
        match &self.weight {
            Weight::F32(matrix) => matmul_accumulate(out, a, matrix, m, self.inputs, self.outputs),
            Weight::Int8(quantized) => quantized.accumulate(out, a, m),
        }
    }
}

/// The arithmetic of the linear layers (attention, softmax and layer
/// norms are f32 in both), with the int8 kernel chosen for this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arithmetic {
    F32,
    Int8(Kernel),
}

/// One encoder layer's weights.
struct Layer {
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

/// A BERT-family encoder's weights and shape, ready for [`BertForward::forward`].
pub(crate) struct BertForward {
    word: Vec<f32>,
    position: Vec<f32>,
    /// Row 0 of the token-type table: every token is of type 0 (sentence
    /// embeddings have one segment).
    token_type: Vec<f32>,
    embeddings_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    intermediate: usize,
    max_positions: usize,
    vocab: usize,
    eps: f32,
    activation: HiddenAct,
    /// One set of buffers per pass running at once.
    scratch: std::sync::Mutex<Vec<Scratch>>,
}

fn flat(t: Tensor) -> candle_core::Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

/// A linear layer's `[out, in]` weight as `[in, out]`, and its bias.
fn linear_tensors(vb: &VarBuilder, inputs: usize, outputs: usize) -> candle_core::Result<(Tensor, Tensor)> {
    let weight = vb.get((outputs, inputs), "weight")?.t()?.contiguous()?;
    Ok((weight, vb.get(outputs, "bias")?))
}

fn linear(
    vb: &VarBuilder,
    inputs: usize,
    outputs: usize,
    arithmetic: Arithmetic,
) -> candle_core::Result<Linear> {
    let (weight, bias) = linear_tensors(vb, inputs, outputs)?;
    Linear::new(weight, bias, arithmetic)
}

fn norm(vb: &VarBuilder, size: usize) -> candle_core::Result<Norm> {
    // Old checkpoints name a layer norm's parameters gamma and beta.
    let (weight, bias) = if vb.contains_tensor("weight") {
        (vb.get(size, "weight")?, vb.get(size, "bias")?)
    } else {
        (vb.get(size, "gamma")?, vb.get(size, "beta")?)
    };
    Ok(Norm {
        weight: flat(weight)?,
        bias: flat(bias)?,
    })
}

impl BertForward {
    /// Read the weights as candle-transformers' `BertModel::load` names them
    /// (`embeddings.*`, `encoder.layer.N.*`, or the same under the
    /// `model_type` prefix).
    pub(crate) fn load(
        vb: &VarBuilder,
        config: &Config,
        arithmetic: Arithmetic,
    ) -> candle_core::Result<Self> {
        let vb = match &config.model_type {
            Some(kind) if !vb.contains_tensor("embeddings.word_embeddings.weight") => vb.pp(kind),
            _ => vb.clone(),
        };
        let hidden = config.hidden_size;
        let intermediate = config.intermediate_size;
        if config.num_attention_heads == 0 || !hidden.is_multiple_of(config.num_attention_heads) {
            candle_core::bail!(
                "hidden size {hidden} is not a multiple of {} attention heads",
                config.num_attention_heads
            );
        }
        let embeddings = vb.pp("embeddings");
        let word = flat(embeddings.get((config.vocab_size, hidden), "word_embeddings.weight")?)?;
        let position = flat(embeddings.get(
            (config.max_position_embeddings, hidden),
            "position_embeddings.weight",
        )?)?;
        let token_type = flat(
            embeddings
                .get((config.type_vocab_size, hidden), "token_type_embeddings.weight")?
                .get(0)?,
        )?;
        let embeddings_norm = norm(&embeddings.pp("LayerNorm"), hidden)?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let vb = vb.pp(format!("encoder.layer.{i}"));
                let attention = vb.pp("attention");
                let (q, q_bias) = linear_tensors(&attention.pp("self.query"), hidden, hidden)?;
                let (k, k_bias) = linear_tensors(&attention.pp("self.key"), hidden, hidden)?;
                let (v, v_bias) = linear_tensors(&attention.pp("self.value"), hidden, hidden)?;
                Ok(Layer {
                    qkv: Linear::new(
                        Tensor::cat(&[q, k, v], 1)?,
                        Tensor::cat(&[q_bias, k_bias, v_bias], 0)?,
                        arithmetic,
                    )?,
                    attention_out: linear(&attention.pp("output.dense"), hidden, hidden, arithmetic)?,
                    attention_norm: norm(&attention.pp("output.LayerNorm"), hidden)?,
                    intermediate: linear(&vb.pp("intermediate.dense"), hidden, intermediate, arithmetic)?,
                    output: linear(&vb.pp("output.dense"), intermediate, hidden, arithmetic)?,
                    output_norm: norm(&vb.pp("output.LayerNorm"), hidden)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(BertForward {
            word,
            position,
            token_type,
            embeddings_norm,
            layers,
            hidden,
            heads: config.num_attention_heads,
            intermediate,
            max_positions: config.max_position_embeddings,
            vocab: config.vocab_size,
            eps: config.layer_norm_eps as f32,
            activation: config.hidden_act,
            scratch: Default::default(),
        })
    }

    /// `read` given the last layer's hidden states of every token of every
    /// sequence, packed: `[sum of lengths, hidden]`, sequence after
    /// sequence. Each sequence is at most the model's positions long, and
    /// its ids are below the vocabulary's size (the tokenizer's own
    /// guarantee). `read` must not run the encoder itself.
    pub(crate) fn forward<R>(&self, sequences: &[&[u32]], read: impl FnOnce(&[f32]) -> R) -> R {
        let hidden = self.hidden;
        let mut starts = Vec::with_capacity(sequences.len() + 1);
        starts.push(0usize);
        for s in sequences {
            assert!(
                s.len() <= self.max_positions,
                "a sequence longer than the model's positions"
            );
            starts.push(starts.last().unwrap() + s.len());
        }
        let tokens = *starts.last().unwrap();
        let mut scratch = self
            .scratch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default();
        let result = {
            let Scratch {
                x,
                qkv,
                context,
                inter,
            } = &mut scratch;
            let x = sized(x, tokens * hidden);
            for (sequence, start) in sequences.iter().zip(&starts) {
                for (position, &id) in sequence.iter().enumerate() {
                    let id = id as usize;
                    assert!(id < self.vocab, "token id {id} outside the vocabulary");
                    let row = &mut x[(start + position) * hidden..][..hidden];
                    let word = &self.word[id * hidden..][..hidden];
                    let place = &self.position[position * hidden..][..hidden];
                    for (((out, w), p), t) in row.iter_mut().zip(word).zip(place).zip(&self.token_type) {
                        *out = w + p + t;
                    }
                }
            }
            self.layer_norm(x, &self.embeddings_norm);

            let qkv = sized(qkv, tokens * 3 * hidden);
            let context = sized(context, tokens * hidden);
            let inter = sized(inter, tokens * self.intermediate);
            for layer in &self.layers {
                start_with_bias(qkv, &layer.qkv.bias);
                layer.qkv.accumulate(qkv, x, tokens);
                self.attention(qkv, &starts, context);
                add_bias(x, &layer.attention_out.bias);
                layer.attention_out.accumulate(x, context, tokens);
                self.layer_norm(x, &layer.attention_norm);

                start_with_bias(inter, &layer.intermediate.bias);
                layer.intermediate.accumulate(inter, x, tokens);
                self.activate(inter);
                add_bias(x, &layer.output.bias);
                layer.output.accumulate(x, inter, tokens);
                self.layer_norm(x, &layer.output_norm);
            }
            read(x)
        };
        self.scratch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(scratch);
        result
    }

    /// Self-attention of each sequence on its own: `context[t, h·d..]` =
    /// softmax(Q_h K_hᵀ / √d) V_h over the sequence's rows of `qkv`.
    fn attention(&self, qkv: &[f32], starts: &[usize], context: &mut [f32]) {
        let hidden = self.hidden;
        let head_size = hidden / self.heads;
        let scale = 1.0 / (head_size as f32).sqrt();
        let stride = 3 * hidden as isize;
        let out = SharedOut(context.as_mut_ptr());
        let tasks: Vec<(usize, usize)> = (0..starts.len() - 1)
            .flat_map(|s| (0..self.heads).map(move |h| (s, h)))
            .collect();
        tasks
            .into_par_iter()
            .for_each_init(Vec::new, |scores: &mut Vec<f32>, (s, h)| {
                let (start, len) = (starts[s], starts[s + 1] - starts[s]);
                if len == 0 {
                    return;
                }
                scores.clear();
                scores.resize(len * len, 0.0);
                let q = qkv[start * 3 * hidden + h * head_size..].as_ptr();
                let k = qkv[start * 3 * hidden + hidden + h * head_size..].as_ptr();
                let v = qkv[start * 3 * hidden + 2 * hidden + h * head_size..].as_ptr();
                // SAFETY: every pointer stays inside its buffer: q, k and v
                // address `len` rows of `head_size` columns at row stride
                // `stride` within `qkv` (the sequence's rows); `scores` is
                // `len × len`; the context block written is this (sequence,
                // head)'s own rows × columns, which no other task touches.
                unsafe {
                    // scores = scale · Q Kᵀ   (Kᵀ: element (i, j) is K[j, i])
                    gemm(
                        len,
                        len,
                        head_size,
                        scores.as_mut_ptr(),
                        1,
                        len as isize,
                        false,
                        q,
                        1,
                        stride,
                        k,
                        stride,
                        1,
                        0.0,
                        scale,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
                for row in scores.chunks_exact_mut(len) {
                    softmax(row);
                }
                let dst = out.at(start * hidden + h * head_size);
                // SAFETY: as above.
                unsafe {
                    gemm(
                        len,
                        head_size,
                        len,
                        dst,
                        1,
                        hidden as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        len as isize,
                        v,
                        1,
                        stride,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            });
    }

    fn layer_norm(&self, x: &mut [f32], norm: &Norm) {
        let hidden = self.hidden;
        let eps = self.eps;
        x.par_chunks_mut(hidden * ROWS_PER_TASK).for_each(|rows| {
            for row in rows.chunks_exact_mut(hidden) {
                let mean = sum(row) / hidden as f32;
                row.iter_mut().for_each(|v| *v -= mean);
                let variance = lanes(row, 0.0, |a, v| a + v * v, |a, b| a + b) / hidden as f32;
                let inverse = 1.0 / (variance + eps).sqrt();
                for ((v, w), b) in row.iter_mut().zip(&norm.weight).zip(&norm.bias) {
                    *v = *v * inverse * w + b;
                }
            }
        });
    }

    fn activate(&self, x: &mut [f32]) {
        let activation = self.activation;
        x.par_chunks_mut(self.intermediate * ROWS_PER_TASK)
            .for_each(|block| match activation {
                HiddenAct::Gelu => block.iter_mut().for_each(|v| *v = gelu_erf(*v)),
                HiddenAct::GeluApproximate => block.iter_mut().for_each(|v| *v = gelu_tanh(*v)),
                HiddenAct::Relu => block.iter_mut().for_each(|v| *v = v.max(0.0)),
            });
    }
}

/// A pass's working buffers, kept by the encoder and reused by the next
/// pass on whatever thread (the ingest pipeline's embed thread is new for
/// every add): a pass of 1,024 word pieces needs about 13 MiB, allocated
/// once instead of per pass.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    context: Vec<f32>,
    inter: Vec<f32>,
}

/// `buffer` as `len` values, keeping its allocation. What an earlier pass
/// left is not cleared: every buffer is written whole before it is read
/// (the embeddings fill `x`, `start_with_bias` fills `qkv` and `inter`,
/// and attention's products write `context` without reading it), so
/// zeroing ~13 MiB per pass would be work for nothing.
fn sized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buffer.resize(len, 0.0);
    &mut buffer[..len]
}

/// The context buffer's pointer, shared by attention tasks that each write
/// their own disjoint block of it.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

impl SharedOut {
    /// (A method, so closures capture the whole wrapper, not its field.)
    fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}
// SAFETY: tasks write disjoint blocks (see `attention`), and the buffer
// outlives the parallel loop that uses the pointer.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

/// Every row of `out` (`[rows, bias.len()]`) set to `bias`.
fn start_with_bias(out: &mut [f32], bias: &[f32]) {
    out.par_chunks_mut(bias.len() * ROWS_PER_TASK).for_each(|rows| {
        for row in rows.chunks_exact_mut(bias.len()) {
            row.copy_from_slice(bias);
        }
    });
}

/// `bias` added to every row of `out` (`[rows, bias.len()]`).
fn add_bias(out: &mut [f32], bias: &[f32]) {
    out.par_chunks_mut(bias.len() * ROWS_PER_TASK).for_each(|rows| {
        for row in rows.chunks_exact_mut(bias.len()) {
            row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
        }
    });
}

/// `out[m, n] += a[m, k] · w[k, n]`, all row-major, on rayon's pool.
fn matmul_accumulate(out: &mut [f32], a: &[f32], w: &[f32], m: usize, k: usize, n: usize) {
    assert!(out.len() >= m * n && a.len() >= m * k && w.len() >= k * n);
    // SAFETY: the three buffers hold the `m×n`, `m×k` and `k×n` row-major
    // matrices the strides describe (checked above).
    unsafe {
        gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            true,
            a.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::Rayon(rayon::current_num_threads()),
        );
    }
}

fn softmax(row: &mut [f32]) {
    let max = lanes(row, f32::NEG_INFINITY, f32::max, f32::max);
    // Exponentiate first, sum after: a loop that also summed would run on
    // one lane (the compiler keeps a float sum's order).
    row.iter_mut().for_each(|v| *v = exp(*v - max));
    let inverse = 1.0 / sum(row);
    row.iter_mut().for_each(|v| *v *= inverse);
}

/// `values` folded by `step` into 16 interleaved lanes, which `combine`
/// (associative and commutative: a sum, a maximum) then joins. The
/// compiler vectorises this; a plain fold over floats stays scalar.
#[inline(always)]
pub(crate) fn lanes(
    values: &[f32],
    identity: f32,
    step: impl Fn(f32, f32) -> f32,
    combine: impl Fn(f32, f32) -> f32,
) -> f32 {
    const LANES: usize = 16;
    let mut acc = [identity; LANES];
    let blocks = values.chunks_exact(LANES);
    let tail = blocks.remainder().iter().fold(identity, |a, &v| step(a, v));
    for block in blocks {
        for (a, v) in acc.iter_mut().zip(block) {
            *a = step(*a, *v);
        }
    }
    acc.iter().fold(tail, |a, &v| combine(a, v))
}

fn sum(values: &[f32]) -> f32 {
    lanes(values, 0.0, |a, v| a + v, |a, b| a + b)
}

/// eˣ to about 2 ulp: 2ⁿ·eʳ with n = round(x·log₂e), |r| ≤ ln 2 / 2, eʳ by
/// Cephes `expf`'s polynomial. Branch-free, so loops over it vectorise
/// (libm's `expf` is a call per element).
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    // ln 2 in two parts, so r is exact.
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5)
        * r
        * r
        + r
        + 1.0;
    // 2ⁿ built from bits: n + 127 (1…254 after the clamp) lands in the low
    // mantissa bits of 2²³ + n + 127. (An `as` cast would saturate, which
    // keeps the loop from vectorising.)
    let biased = (n + (127.0 + 8_388_608.0))
        .to_bits()
        .wrapping_sub(8_388_608f32.to_bits());
    p * f32::from_bits(biased << 23)
}

/// erf(x) to 1.5·10⁻⁷ (Abramowitz & Stegun 7.1.26), branch-free.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly =
        ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_8) * t - 0.284_496_72) * t + 0.254_829_6) * t;
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// GELU as BERT defines it: x·Φ(x), with the exact (erf) normal CDF.
#[inline(always)]
fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// GELU's tanh approximation (`gelu_new`, candle's `gelu`).
#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    let u = 0.797_884_6 * (x + 0.044_715 * x * x * x);
    // tanh(u) = 1 − 2 / (e²ᵘ + 1)
    0.5 * x * (2.0 - 2.0 / (exp(2.0 * u) + 1.0))
}

#[cfg(test)]
mod tests {
    //! Properties: the polynomial exp and erf agree with libm to the
    //! precision the encoder needs, over the ranges the encoder feeds them
    //! (softmax: x ≤ 0 down to underflow; GELU: any activation).
    use super::*;

    #[test]
    fn exp_and_erf_match_libm() {
        let mut worst_exp = 0f32;
        let mut worst_erf = 0f32;
        for i in -20_000..=4_000 {
            let x = i as f32 / 200.0; // −100 … 20
            let want = x.exp();
            let relative = if want > 0.0 {
                (exp(x) - want).abs() / want
            } else {
                exp(x)
            };
            if want > 1e-37 {
                worst_exp = worst_exp.max(relative);
            } else {
                assert!(exp(x) < 1e-37, "exp({x}) = {}", exp(x));
            }
            let x = i as f32 / 2_000.0; // −10 … 2
            worst_erf = worst_erf.max((erf(x) - erf_reference(x)).abs());
            worst_erf = worst_erf.max((erf(-x) + erf_reference(x)).abs());
        }
        assert!(worst_exp < 5e-7, "exp's worst relative error {worst_exp}");
        assert!(worst_erf < 5e-7, "erf's worst absolute error {worst_erf}");
        assert_eq!(gelu_erf(0.0), 0.0);
        assert!((gelu_erf(1.0) - 0.841_344_8).abs() < 1e-6);
        assert!((gelu_tanh(1.0) - 0.841_192).abs() < 1e-5);
    }

    /// erf by its Taylor series in f64 (|x| ≤ 3) or 1 beyond.
    fn erf_reference(x: f32) -> f32 {
        let x = x as f64;
        if x.abs() > 3.0 {
            return (1.0 - libm_erfc_tail(x.abs())).copysign(x) as f32;
        }
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        (sum * 2.0 / std::f64::consts::PI.sqrt()) as f32
    }

    /// erfc(x) for x > 3 by its continued fraction: below 2.2·10⁻⁵ there.
    fn libm_erfc_tail(x: f64) -> f64 {
        let mut fraction = 0.0;
        for k in (1..60).rev() {
            fraction = (k as f64 / 2.0) / (x + fraction);
        }
        (-x * x).exp() / std::f64::consts::PI.sqrt() / (x + fraction)
    }
}
