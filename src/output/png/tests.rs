//! Tests of the PNG writers: dimensions, scaling, colour bar and labels.

use super::*;
use ndarray::{Array2, Array4};

fn open_rgb(p: &Path) -> image::RgbImage {
    image::open(p).unwrap().to_rgb8()
}

#[test]
fn mean_png_is_greyscale_upscaled_scaled_to_range_with_colour_bar() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mean.png");
    let mean = Array2::from_shape_fn((64, 32), |(i, j)| (i * 32 + j) as f64);
    write_mean_png(&p, mean.view()).unwrap();
    let img = open_rgb(&p);
    assert_eq!(img.height(), 64 * 4);
    // labels "2047" (max) and "0" (min) at font scale 2 beside a 12-px bar
    let label_w = 4 * 6 * 2;
    assert_eq!(img.width(), 32 * 4 + 6 + 12 + 4 + label_w + 4);
    assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0]);
    assert_eq!(img.get_pixel(127, 255).0, [255, 255, 255]);
    let mid = img.get_pixel(64, 128).0;
    assert!(
        mid[0] == mid[1] && mid[1] == mid[2] && mid[0] > 50 && mid[0] < 200,
        "{mid:?}"
    );
    // The bar: white at the top, black at the bottom, grey in between.
    let bar_x = 32 * 4 + 6 + 5;
    assert_eq!(img.get_pixel(bar_x, 0).0, [255, 255, 255]);
    assert_eq!(img.get_pixel(bar_x, 255).0, [0, 0, 0]);
    let b = img.get_pixel(bar_x, 128).0;
    assert!(b[0] == b[2] && b[0] > 100 && b[0] < 155, "{b:?}");
    // Labels are drawn (black text) to the right of the bar.
    let text = (bar_x + 12..img.width()).any(|x| (0..14).any(|y| img.get_pixel(x, y).0 == [0, 0, 0]));
    assert!(text, "no label beside the bar");
}

#[test]
fn std_png_has_image_colour_bar_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("std.png");
    let std = Array2::from_shape_fn((16, 16), |(i, _)| 0.5 + i as f64 * 0.1);
    write_std_png(&p, std.view()).unwrap();
    let img = open_rgb(&p);
    let s = upscale_factor(16, 16) as u32;
    assert_eq!(s, 8);
    assert_eq!(img.height(), 16 * s);
    // labels "2.000" (max) and "0.5000" (min) at font scale 2 beside a 12-px bar
    let label_w = 6 * 6 * 2;
    assert_eq!(img.width(), 16 * s + 6 + 12 + 4 + label_w + 4);
    assert_eq!(img.get_pixel(0, 0).0, viridis(0.0));
    assert_eq!(img.get_pixel(0, 16 * s - 1).0, viridis(1.0));
    let bar_x = 16 * s + 6 + 5;
    assert_eq!(img.get_pixel(bar_x, 0).0, viridis(1.0));
    assert_eq!(img.get_pixel(bar_x, img.height() - 1).0, viridis(0.0));
    let text_x0 = 16 * s + 6 + 12 + 4;
    let dark = |y0: u32, y1: u32| {
        (text_x0..img.width())
            .flat_map(|x| (y0..y1).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0 == [0, 0, 0])
            .count()
    };
    assert!(dark(0, 14) > 20, "max label drawn");
    assert!(dark(img.height() - 14, img.height()) > 20, "min label drawn");
    assert_eq!(dark(20, img.height() - 20), 0, "nothing between the labels");
}

#[test]
fn samples_png_grid_dimensions_and_separators() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("samples.png");
    let samples = Array4::from_shape_fn((4, 100, 8, 12), |(c, d, i, j)| (c + d + i + j) as f64);
    write_samples_png(&p, samples.view()).unwrap();
    let img = open_rgb(&p);
    let s = upscale_factor(8, 12) as u32; // 8
    let (cw, ch) = (12 * s, 8 * s);
    assert_eq!(img.width(), 4 * cw + 3 * 2);
    assert_eq!(img.height(), 4 * ch + 3 * 2 + 4 + 7 + 2);
    // separator columns are white, the first pixel of the next cell is not
    assert_eq!(img.get_pixel(cw, 5).0, [255; 3]);
    assert_eq!(img.get_pixel(cw + 1, 5).0, [255; 3]);
    // shared scale: global min (chain 0, draw 0, pixel 0) is black, global max is white
    assert_eq!(img.get_pixel(0, 0).0, [0; 3]);
    let (x_last, y_last) = (4 * cw + 6 - 1, 4 * ch + 6 - 1);
    assert_eq!(img.get_pixel(x_last, y_last).0, [255; 3]);
}

#[test]
fn few_chains_and_draws_constant_and_nan_images() {
    let dir = tempfile::tempdir().unwrap();
    let mut samples = Array4::from_elem((1, 2, 3, 3), 1.0);
    samples[[0, 1, 1, 1]] = f64::NAN;
    let mean = Array2::from_elem((3, 3), 2.0);
    let mut std = Array2::from_elem((3, 3), f64::NAN);
    std[[0, 0]] = 1.0;
    write_image_pngs(dir.path(), samples.view(), mean.view(), std.view()).unwrap();
    let img = open_rgb(&dir.path().join("samples.png"));
    // grid 2·24 + 2 = 50 px is narrower than the caption "1.000 <ramp> 1.000": 10·6 + 3·6 + 20
    assert_eq!(img.width(), 98);
    for name in ["mean.png", "std.png"] {
        assert!(image::open(dir.path().join(name)).is_ok());
    }
    let empty = Array2::<f64>::zeros((0, 4));
    assert!(write_mean_png(&dir.path().join("e.png"), empty.view()).is_err());
}

#[test]
fn magnitude_of_complex() {
    let z = ndarray::arr2(&[[Complex64::new(3.0, 4.0), Complex64::new(0.0, -2.0)]]);
    assert_eq!(magnitude(z.view()), ndarray::arr2(&[[5.0, 2.0]]));
}
