//! A tiny raster for PNG output: RGB pixels, rectangles, a 5×7 bitmap font for labels, viridis.

use super::OutputError;
use std::path::Path;

/// 5×7 glyphs, one byte per row, bit 4 = leftmost column: digits, lower-case letters and the
/// punctuation of numbers, axis titles and parameter names (`x[3,4]`, `p = 0.05`).
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '[' => [0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E],
        ']' => [0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        'a' => [0, 0, 0x0E, 0x01, 0x0F, 0x11, 0x0F],
        'b' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E],
        'c' => [0, 0, 0x0E, 0x10, 0x10, 0x11, 0x0E],
        'd' => [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F],
        'e' => [0, 0, 0x0E, 0x11, 0x1F, 0x10, 0x0E],
        'f' => [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08],
        'g' => [0, 0, 0x0F, 0x11, 0x0F, 0x01, 0x0E],
        'h' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11],
        'i' => [0x04, 0, 0x0C, 0x04, 0x04, 0x04, 0x0E],
        'j' => [0x02, 0, 0x06, 0x02, 0x02, 0x12, 0x0C],
        'k' => [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12],
        'l' => [0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'm' => [0, 0, 0x1A, 0x15, 0x15, 0x11, 0x11],
        'n' => [0, 0, 0x16, 0x19, 0x11, 0x11, 0x11],
        'o' => [0, 0, 0x0E, 0x11, 0x11, 0x11, 0x0E],
        'p' => [0, 0, 0x1E, 0x11, 0x1E, 0x10, 0x10],
        'q' => [0, 0, 0x0D, 0x13, 0x0F, 0x01, 0x01],
        'r' => [0, 0, 0x16, 0x19, 0x10, 0x10, 0x10],
        's' => [0, 0, 0x0E, 0x10, 0x0E, 0x01, 0x1E],
        't' => [0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06],
        'u' => [0, 0, 0x11, 0x11, 0x11, 0x13, 0x0D],
        'v' => [0, 0, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'w' => [0, 0, 0x11, 0x11, 0x15, 0x15, 0x0A],
        'x' => [0, 0, 0x11, 0x0A, 0x04, 0x0A, 0x11],
        'y' => [0, 0, 0x11, 0x11, 0x0F, 0x01, 0x0E],
        'z' => [0, 0, 0x1F, 0x02, 0x04, 0x08, 0x1F],
        // No capitals: a name such as `Sigma` is drawn in lower case rather than left blank.
        c if c.is_ascii_uppercase() => glyph(c.to_ascii_lowercase()),
        _ => [0; 7],
    }
}

/// Glyph cell width (5 px + 1 px spacing) and height, at scale 1.
pub(crate) const CHAR_W: usize = 6;
pub(crate) const CHAR_H: usize = 7;

/// A compact label for a value: 4 significant digits, scientific outside [1e-3, 1e4).
pub(crate) fn format_value(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if (1e-3..1e4).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.2e}")
    }
}

/// An RGB image being drawn. Out-of-range pixel writes are ignored.
pub(crate) struct Raster {
    pub w: usize,
    pub h: usize,
    data: Vec<u8>,
}

impl Raster {
    pub(crate) fn new(w: usize, h: usize, fill: [u8; 3]) -> Self {
        let mut data = Vec::with_capacity(w * h * 3);
        for _ in 0..w * h {
            data.extend_from_slice(&fill);
        }
        Raster { w, h, data }
    }

    pub(crate) fn set(&mut self, x: usize, y: usize, rgb: [u8; 3]) {
        if x < self.w && y < self.h {
            let i = (y * self.w + x) * 3;
            if let Some(px) = self.data.get_mut(i..i + 3) {
                px.copy_from_slice(&rgb);
            }
        }
    }

    pub(crate) fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, rgb: [u8; 3]) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy, rgb);
            }
        }
    }

    /// Draw `text` with its top-left corner at (x, y), each font pixel `scale`×`scale`.
    pub(crate) fn text(&mut self, x: usize, y: usize, text: &str, scale: usize, rgb: [u8; 3]) {
        for (k, c) in text.chars().enumerate() {
            let rows = glyph(c);
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        let px = x + (k * CHAR_W + col) * scale;
                        self.fill_rect(px, y + r * scale, scale, scale, rgb);
                    }
                }
            }
        }
    }

    /// Encode as an 8-bit RGB PNG and write it (fsynced) to `path`.
    pub(crate) fn save(self, path: &Path) -> Result<(), OutputError> {
        let (w, h) = (self.w as u32, self.h as u32);
        let img = image::RgbImage::from_raw(w, h, self.data).ok_or_else(|| OutputError::Shape {
            path: path.to_path_buf(),
            message: "raster size mismatch".into(),
        })?;
        encode_and_write(path, |buf| img.write_to(buf, image::ImageFormat::Png))
    }

    /// The 8-bit RGB PNG encoding (for images embedded in a file, as `uq report` does).
    pub(crate) fn png_bytes(self) -> Result<Vec<u8>, image::ImageError> {
        let (w, h) = (self.w as u32, self.h as u32);
        let size =
            image::error::ParameterError::from_kind(image::error::ParameterErrorKind::DimensionMismatch);
        let img = image::RgbImage::from_raw(w, h, self.data).ok_or(image::ImageError::Parameter(size))?;
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, image::ImageFormat::Png)?;
        Ok(buf.into_inner())
    }
}

/// Encode with `encode` into memory, then write the bytes to `path` and fsync.
pub(crate) fn encode_and_write(
    path: &Path,
    encode: impl FnOnce(&mut std::io::Cursor<Vec<u8>>) -> image::ImageResult<()>,
) -> Result<(), OutputError> {
    let mut buf = std::io::Cursor::new(Vec::new());
    encode(&mut buf).map_err(|cause| OutputError::Png {
        path: path.to_path_buf(),
        cause,
    })?;
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(path)?;
        f.write_all(buf.get_ref())?;
        f.sync_all()
    };
    write().map_err(|e| OutputError::io(path, e))
}

/// Viridis at 11 evenly spaced stops (R `viridis(11)`, as matplotlib); linear in between.
const VIRIDIS: [[u8; 3]; 11] = [
    [68, 1, 84],
    [72, 37, 118],
    [65, 68, 135],
    [53, 96, 141],
    [42, 120, 142],
    [33, 144, 140],
    [34, 168, 132],
    [67, 191, 113],
    [122, 209, 81],
    [187, 223, 39],
    [253, 231, 37],
];

/// Viridis colour of t ∈ [0, 1] (clamped; NaN → the lowest colour).
pub(crate) fn viridis(t: f64) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let pos = t * (VIRIDIS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |k: usize| (a[k] as f64 + f * (b[k] as f64 - a[k] as f64)).round() as u8;
    [mix(0), mix(1), mix(2)]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn labels_use_only_font_characters() {
        let renders = |s: &str| s.chars().all(|c| c == ' ' || glyph(c) != [0; 7]);
        for x in [
            0.0,
            1.0,
            -2.5,
            0.012345,
            123.456,
            9999.9,
            1e-7,
            -3.2e12,
            f64::NAN,
            f64::NEG_INFINITY,
        ] {
            let s = format_value(x);
            assert!(renders(&s), "{s}");
        }
        // The plots' titles and the names of chosen parameters (capitals drawn as lower case).
        use super::super::plots::{CURVE_X_TITLE, CURVE_Y_TITLE};
        for s in [
            CURVE_X_TITLE,
            CURVE_Y_TITLE,
            "pooled ranks  p = 1.16e-4",
            "x[32,16]  p = 0.0580",
            "sigma_n",
            "Sigma[0]  p = 0.5",
        ] {
            assert!(renders(s), "{s}");
        }
        assert_eq!(format_value(123.456), "123.5");
        assert_eq!(format_value(-2.5), "-2.500");
        assert_eq!(format_value(1e-7), "1.00e-7");
    }

    #[test]
    fn viridis_ends_and_monotone_luminance() {
        assert_eq!(viridis(0.0), [68, 1, 84]);
        assert_eq!(viridis(1.0), [253, 231, 37]);
        let lum = |c: [u8; 3]| 0.2126 * c[0] as f64 + 0.7152 * c[1] as f64 + 0.0722 * c[2] as f64;
        let mut prev = -1.0;
        for k in 0..=100 {
            let l = lum(viridis(k as f64 / 100.0));
            assert!(l >= prev - 0.5, "luminance drops at {k}");
            prev = l;
        }
    }

    #[test]
    fn text_draws_pixels_inside_bounds_only() {
        let mut r = Raster::new(10, 10, [255; 3]);
        r.text(0, 0, "8", 1, [0; 3]);
        r.text(8, 8, "-1.5e+3", 3, [0; 3]); // mostly off-canvas: ignored, no panic
        assert_eq!(&r.data[..3], &[255, 255, 255]); // the 8 glyph's top-left pixel is off
        let black = r.data.chunks(3).filter(|p| p == &[0, 0, 0]).count();
        assert!(black >= 15, "the 8 glyph has 17 pixels, got {black}");
    }
}
