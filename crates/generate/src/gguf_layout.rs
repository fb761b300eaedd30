//! The sizes a GGUF file's header states, checked before anything trusts
//! them. The header's numbers are the file's word: a damaged or hostile
//! file can state a string of 2^40 bytes, an array of 2^60 values, or
//! tensor sizes whose sum overflows. candle's reader allocates what the
//! header states before reading it (the fuzzer, `fuzz/`, found it asking
//! for 272 GB and overflowing a capacity: an abort, or a panic, in the
//! process that only meant to list models), so [`header_fits`] walks the
//! header first, allocating nothing, and every length must fit in the bytes
//! the file has left (and an array holds at most 2^24 values). Written by
//! hand: no GGUF crate in the tree checks this before it allocates.
//!
//! A file of its own, depending only on candle's header types, so the
//! fuzzer builds this very code without llama.cpp.

use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::Content;

/// At most this deep may arrays nest (the format has no use for more).
const MAX_NESTING: usize = 4;
/// At most this many values in one array. candle reserves room for every
/// value of an array (an enum at least as large as a `String`) before it
/// reads them, so a file-length bound alone would still let a 1 GB file of
/// one byte array ask for tens of GB; real vocabularies and merge lists
/// hold well under a million.
const MAX_ARRAY: u64 = 1 << 24;

/// Reading the header: where it stops, and how much of the file is left.
struct Walk<'r, R> {
    reader: &'r mut R,
    left: u64,
    /// Version 1 wrote lengths and counts in 32 bits, later ones in 64.
    narrow: bool,
}

impl<R: Read + Seek> Walk<'_, R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut buf = [0u8; N];
        self.reader
            .read_exact(&mut buf)
            .map_err(|_| "its header is cut short".to_string())?;
        self.left = self.left.saturating_sub(N as u64);
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    /// A length or count, as this version writes it.
    fn count(&mut self) -> Result<u64, String> {
        if self.narrow {
            Ok(u64::from(self.u32()?))
        } else {
            self.u64()
        }
    }

    /// Pass over `n` bytes, which must be in the file.
    fn skip(&mut self, n: u64, what: &str) -> Result<(), String> {
        if n > self.left {
            return Err(format!(
                "its header states {what} of {n} bytes, more than the file holds"
            ));
        }
        let offset = i64::try_from(n).map_err(|_| format!("its header states {what} of {n} bytes"))?;
        // seek_relative: a BufReader keeps what it has buffered.
        self.reader.seek_relative(offset).map_err(|e| e.to_string())?;
        self.left -= n;
        Ok(())
    }

    /// A string; its bytes when it is short enough to be a key we look for.
    fn string(&mut self, what: &str) -> Result<Option<Vec<u8>>, String> {
        let len = self.count()?;
        if len <= 64 {
            let mut text = vec![0u8; len as usize];
            self.reader
                .read_exact(&mut text)
                .map_err(|_| "its header is cut short".to_string())?;
            self.left = self.left.saturating_sub(len);
            return Ok(Some(text));
        }
        self.skip(len, what)?;
        Ok(None)
    }

    /// One value of `kind`; its number when it is an integer that is not
    /// negative (what candle would read an alignment from).
    fn value(&mut self, kind: u32, depth: usize) -> Result<Option<u64>, String> {
        let number = |v: i128| u64::try_from(v).ok();
        match kind {
            0 => Ok(number(self.bytes::<1>()?[0].into())),
            1 => Ok(number(i8::from_le_bytes(self.bytes()?).into())),
            2 => Ok(number(u16::from_le_bytes(self.bytes()?).into())),
            3 => Ok(number(i16::from_le_bytes(self.bytes()?).into())),
            4 => Ok(number(u32::from_le_bytes(self.bytes()?).into())),
            5 => Ok(number(i32::from_le_bytes(self.bytes()?).into())),
            6 => self.bytes::<4>().map(|_| None),
            7 => self.bytes::<1>().map(|_| None),
            10 => Ok(number(u64::from_le_bytes(self.bytes()?).into())),
            11 | 12 => self.bytes::<8>().map(|_| None),
            8 => self.string("a string").map(|_| None),
            9 => {
                if depth >= MAX_NESTING {
                    return Err("its header nests arrays too deep".into());
                }
                let element = self.u32()?;
                let len = self.count()?;
                if len > MAX_ARRAY {
                    return Err(format!("its header states an array of {len} values"));
                }
                let size = match element {
                    0 | 1 | 7 => Some(1),
                    2 | 3 => Some(2),
                    4..=6 => Some(4),
                    10..=12 => Some(8),
                    _ => None,
                };
                match size {
                    Some(size) => self.skip(len.saturating_mul(size), "an array")?,
                    None => {
                        // Each element takes at least 8 bytes (a string's
                        // length, an array's type and length).
                        if len.saturating_mul(8) > self.left {
                            return Err(format!(
                                "its header states an array of {len} values, more than the file holds"
                            ));
                        }
                        for _ in 0..len {
                            self.value(element, depth + 1)?;
                        }
                    }
                }
                Ok(None)
            }
            k => Err(format!(
                "its header names a value type {k} that GGUF does not have"
            )),
        }
    }
}

/// Whether the header of the GGUF file `reader` reads (`file_size` bytes,
/// read from its start) states only sizes the file can hold; why not, if
/// not. Leaves the reader anywhere.
pub fn header_fits<R: Read + Seek>(reader: &mut R, file_size: u64) -> Result<(), String> {
    let mut walk = Walk {
        reader,
        left: file_size,
        narrow: false,
    };
    let [_, _, _, _] = walk.bytes::<4>()?; // the magic, checked by the caller
    walk.narrow = walk.u32()? == 1;
    let tensors = walk.count()?;
    let values = walk.count()?;
    // A key-value pair takes at least 12 bytes, a tensor's entry at least 24.
    if values.saturating_mul(12) > walk.left || tensors.saturating_mul(24) > walk.left {
        return Err(format!(
            "its header states {values} metadata values and {tensors} tensors, more than the file holds"
        ));
    }
    for _ in 0..values {
        let key = walk.string("a key")?;
        let kind = walk.u32()?;
        let number = walk.value(kind, 0)?;
        if key.as_deref() == Some(b"general.alignment".as_slice())
            && number.is_some_and(|a| a == 0 || a > 1 << 30)
        {
            return Err("its header states an alignment of 0 or over 1 GiB".into());
        }
    }
    for _ in 0..tensors {
        walk.string("a tensor name")?;
        let dims = walk.u32()?;
        if dims > 8 {
            return Err(format!("its header gives a tensor {dims} dimensions"));
        }
        let width = if walk.narrow { 4 } else { 8 };
        walk.skip(u64::from(dims) * width + 4 + 8, "a tensor's entry")?;
    }
    Ok(())
}

/// (parameters, the byte where the last tensor's data ends); `None` when
/// the header's sizes overflow 64 bits.
pub fn tensor_layout(content: &Content) -> Option<(u64, u64)> {
    let mut expected_end = content.tensor_data_offset;
    let mut parameters = 0u64;
    for info in content.tensor_infos.values() {
        let elements = info
            .shape
            .dims()
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d as u64))?;
        parameters = parameters.checked_add(elements)?;
        let bytes = (elements / info.ggml_dtype.block_size() as u64)
            .checked_mul(info.ggml_dtype.type_size() as u64)?;
        let end = content
            .tensor_data_offset
            .checked_add(info.offset)?
            .checked_add(bytes)?;
        expected_end = expected_end.max(end);
    }
    Some((parameters, expected_end))
}
