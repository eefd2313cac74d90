//! BART `.cfl/.hdr` writers: real or complex arrays as complex64 pairs, shape by `check::cfl`'s rule.

use super::OutputError;
use ndarray::{ArrayBase, Data, Dimension, IxDyn};
use num_complex::Complex64;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// An element a `.cfl` can hold (stored as complex64; real values get a zero imaginary part).
pub trait CflElement: Copy {
    fn parts(self) -> (f32, f32);
}

impl CflElement for f64 {
    fn parts(self) -> (f32, f32) {
        (self as f32, 0.0)
    }
}

impl CflElement for Complex64 {
    fn parts(self) -> (f32, f32) {
        (self.re as f32, self.im as f32)
    }
}

/// Write `array` as the pair `path` (`NAME.cfl`) and `NAME.hdr`, both fsynced: the last two axes are
/// BART's X and Y, the others follow in reverse order (`check/cfl.rs`'s shape rule), values complex64
/// column-major over BART's dimensions.
pub fn write_cfl<A, S, D>(path: &Path, array: &ArrayBase<S, D>) -> Result<(), OutputError>
where
    A: CflElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    let (cfl, hdr) = (path.with_extension("cfl"), path.with_extension("hdr"));
    let text = crate::check::cfl_header(array.shape()).ok_or_else(|| OutputError::Shape {
        path: cfl.clone(),
        message: format!(
            "BART files have at most 16 dimensions; this array has {}",
            array.ndim()
        ),
    })?;
    let write = |p: &Path, f: &dyn Fn(&mut BufWriter<File>) -> std::io::Result<()>| {
        let io = |e| OutputError::io(p, e);
        let mut w = BufWriter::new(File::create(p).map_err(io)?);
        f(&mut w).map_err(io)?;
        w.flush().map_err(io)?;
        w.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)
    };
    write(&hdr, &|w| w.write_all(text.as_bytes()))?;
    write(&cfl, &|w| {
        // BART's column-major order over its axis order: the permuted view's reversed axes, row-major.
        let bart = array
            .view()
            .into_dyn()
            .permuted_axes(IxDyn(&crate::check::cfl_bart_order(array.ndim())));
        for v in bart.reversed_axes().iter() {
            let (re, im) = v.parts();
            w.write_all(&re.to_le_bytes())?;
            w.write_all(&im.to_le_bytes())?;
        }
        Ok(())
    })
}
