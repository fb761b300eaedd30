//! llama.cpp's CPU code, chosen when the process starts for the CPU it runs
//! on.
//!
//! llama.cpp is built with every x86 CPU variant as a loadable module
//! (`GGML_CPU_ALL_VARIANTS`: `libggml-cpu-<variant>.so`). On this project's
//! Xeons the AVX-512 variants read a prompt 1.12–1.26× as fast as the AVX2
//! one Quarry used to build alone; AVX2-only EPYCs get the AVX2 one
//! (BENCHMARKS.md, "llama.cpp's CPU variants").
//!
//! Quarry picks the variant itself rather than letting ggml load every
//! module and score them, for two reasons: AMX (`sapphirerapids`) is never
//! chosen, because llama.cpp's AMX path crashes on machines of this kind
//! (`../shared/BUILD-NOTES.md`); and the choice is named, so logs,
//! `quarry models` and benchmarks say which code ran. `QUARRY_LLAMA_CPU=<variant>` forces one.

use std::path::{Path, PathBuf};
use std::sync::{LazyLock, OnceLock};

use crate::{LlmError, LlmResult};

/// The variants Quarry loads, best first, each with the CPU features it
/// was compiled for, from `cpu-variants.txt` (which says why these and
/// not others; `scripts/package` ships the modules it names).
pub static CPU_VARIANTS: LazyLock<Vec<(&str, Vec<&str>)>> = LazyLock::new(|| {
    include_str!("../cpu-variants.txt")
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?, words.collect()))
        })
        .collect()
});

/// Whether this CPU has `feature`; `None` for a name Quarry does not know.
fn has_feature(feature: &str) -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    {
        Some(match feature {
            "avx512" => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512cd")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512bw")
            }
            "avx512vbmi" => std::arch::is_x86_feature_detected!("avx512vbmi"),
            "avx512vnni" => std::arch::is_x86_feature_detected!("avx512vnni"),
            "avx512bf16" => std::arch::is_x86_feature_detected!("avx512bf16"),
            "avxvnni" => std::arch::is_x86_feature_detected!("avxvnni"),
            "avx2" => std::arch::is_x86_feature_detected!("avx2"),
            "fma" => std::arch::is_x86_feature_detected!("fma"),
            "f16c" => std::arch::is_x86_feature_detected!("f16c"),
            "bmi2" => std::arch::is_x86_feature_detected!("bmi2"),
            _ => return None,
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        Some(false)
    }
}

/// The variants this CPU runs (every feature each was compiled for is
/// present), best first; none on a CPU below x86-64-v3.
fn runnable_variants() -> impl Iterator<Item = &'static str> {
    CPU_VARIANTS
        .iter()
        .filter(|(_, features)| features.iter().all(|f| has_feature(f) == Some(true)))
        .map(|(name, _)| *name)
}

/// The best variant this CPU runs, or `None` on a CPU below x86-64-v3.
pub fn best_cpu_variant() -> Option<&'static str> {
    runnable_variants().next()
}

/// Where the variant modules are: `QUARRY_LLAMA_BACKENDS`, then beside an
/// installed Quarry (`<prefix>/lib/quarry/backends`, the .deb's layout),
/// then the folder this build of llama.cpp installed them to.
fn backend_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("QUARRY_LLAMA_BACKENDS") {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(prefix) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
    {
        dirs.push(prefix.join("lib/quarry/backends"));
    }
    if let Some(dir) = llama_cpp_sys_2::BACKENDS_DIR {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

fn module_file(dir: &Path, variant: &str) -> PathBuf {
    dir.join(format!("libggml-cpu-{variant}.so"))
}

/// The CPU code llama.cpp runs in this process, once loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuBackend {
    /// The variant's name, e.g. `zen4` or `haswell`.
    pub variant: String,
    /// Whether `QUARRY_LLAMA_CPU` chose it rather than the CPU's features.
    pub forced: bool,
    pub path: PathBuf,
}

/// The variant loaded, if [`load_cpu_backend`] has run and succeeded.
pub fn loaded_cpu_backend() -> Option<&'static CpuBackend> {
    LOADED.get().and_then(|loaded| loaded.as_ref().ok())
}

static LOADED: OnceLock<Result<CpuBackend, String>> = OnceLock::new();

/// Choose and load llama.cpp's CPU code, once per process; later calls
/// return the first outcome. Must run before llama.cpp's backend starts.
///
/// The best variant whose features this CPU has is tried first; should
/// ggml refuse it (its own check asks for more than the AVX-512 ones, e.g.
/// BMI2, which a VM may hide), the next one down is tried, to `haswell`.
pub fn load_cpu_backend() -> LlmResult<&'static CpuBackend> {
    LOADED
        .get_or_init(|| {
            // llama.cpp logs every module and tensor it loads; send that to
            // tracing, where the CLI shows warnings and errors only.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            let forced = std::env::var("QUARRY_LLAMA_CPU").ok().filter(|v| !v.trim().is_empty());
            let candidates: Vec<&str> = match forced.as_deref().map(str::trim) {
                Some(name) => {
                    let Some((_, features)) = CPU_VARIANTS.iter().find(|(known, _)| *known == name) else {
                        let known: Vec<&str> = CPU_VARIANTS.iter().map(|(n, _)| *n).collect();
                        return Err(format!(
                            "QUARRY_LLAMA_CPU={name} is not a CPU variant Quarry loads (one of: {})",
                            known.join(", ")
                        ));
                    };
                    let missing: Vec<&str> =
                        features.iter().copied().filter(|f| has_feature(f) != Some(true)).collect();
                    if !missing.is_empty() {
                        return Err(format!(
                            "QUARRY_LLAMA_CPU={name}: this CPU lacks {}, which that variant needs",
                            missing.join(", ")
                        ));
                    }
                    vec![name]
                }
                None => runnable_variants().collect(),
            };
            if candidates.is_empty() {
                return Err("this CPU lacks AVX2 and FMA (x86-64-v3), which Quarry's llama.cpp needs".into());
            }
            let dirs = backend_dirs();
            let mut refused = Vec::new();
            for variant in candidates {
                let Some(path) = dirs.iter().map(|dir| module_file(dir, variant)).find(|p| p.is_file()) else {
                    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
                    return Err(format!(
                        "llama.cpp's CPU code for this machine (libggml-cpu-{variant}.so) is missing; looked in \
                         {}. Reinstall Quarry, or set QUARRY_LLAMA_BACKENDS to the folder that holds it",
                        looked.join(", ")
                    ));
                };
                let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
                    .map_err(|_| format!("{} holds a NUL byte", path.display()))?;
                // SAFETY: a NUL-terminated path; ggml copies what it needs. It
                // returns null when the module cannot be opened or its own
                // feature check (compiled without the variant's instructions)
                // refuses this CPU, and registers it otherwise.
                let registered = unsafe { llama_cpp_sys_2::ggml_backend_load(c_path.as_ptr()) };
                if registered.is_null() {
                    tracing::warn!(variant, path = %path.display(), "llama.cpp refused this CPU variant; trying the next");
                    refused.push(variant);
                    continue;
                }
                tracing::info!(variant, forced = forced.is_some(), path = %path.display(), "llama.cpp CPU code loaded");
                return Ok(CpuBackend {
                    variant: variant.to_string(),
                    forced: forced.is_some(),
                    path,
                });
            }
            Err(format!(
                "llama.cpp could not load its CPU code on this machine (refused: {})",
                refused.join(", ")
            ))
        })
        .as_ref()
        .map_err(|reason| LlmError::Engine(reason.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_variant_is_one_whose_features_this_cpu_has_and_never_amx() {
        let best = best_cpu_variant().expect("machines of this kind have AVX2 and FMA");
        let (_, features) = CPU_VARIANTS.iter().find(|(name, _)| *name == best).unwrap();
        assert!(
            features.iter().all(|f| has_feature(f) == Some(true)),
            "{best} needs {features:?}"
        );
        assert_ne!(best, "sapphirerapids");
        // No better variant was passed over.
        for (name, features) in CPU_VARIANTS.iter().take_while(|(name, _)| *name != best) {
            assert!(
                features.iter().any(|f| has_feature(f) == Some(false)),
                "{name} runs here and ranks above {best}"
            );
        }
        // The list file reads as eight variants down to AVX2, never AMX.
        let names: Vec<&str> = CPU_VARIANTS.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            (names.len(), names.first(), names.last()),
            (8, Some(&"zen4"), Some(&"haswell"))
        );
        assert!(!names.contains(&"sapphirerapids"));
        // Every feature named is one has_feature knows: a typo would
        // silently make a variant unreachable.
        for (name, features) in CPU_VARIANTS.iter() {
            for f in features.iter() {
                assert!(has_feature(f).is_some(), "{name}: unknown feature {f}");
            }
        }
    }

    #[test]
    fn every_listed_variant_was_built() {
        let dir = llama_cpp_sys_2::BACKENDS_DIR.expect("llama.cpp is built with its CPU variants as modules");
        for (name, _) in CPU_VARIANTS.iter() {
            assert!(
                module_file(Path::new(dir), name).is_file(),
                "libggml-cpu-{name}.so is missing from {dir}"
            );
        }
    }
}
