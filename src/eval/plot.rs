//! Rate-distortion plots (quality vs bpp) as PNG, drawn with plotters' bitmap backend.
//!
//! Text uses DejaVu Sans embedded in the binary (`assets/fonts/`), so plotting needs no system fonts.

use super::report::RdCurve;
use super::EvalError;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Layout and axes of an RD plot; `Default` gives a 1200×800 PSNR-vs-bpp plot with automatic ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Rate axis range; `None`: from 0 to 1.2 × the largest rate of our curves (of all curves if none is ours).
    pub x_range: Option<(f64, f64)>,
    /// Quality axis range; `None`: the span of what is visible in the rate range, padded to whole dB.
    pub y_range: Option<(f64, f64)>,
    /// Rate axis label.
    pub x_label: String,
    /// Quality axis label.
    pub y_label: String,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            width: 1200,
            height: 800,
            x_range: None,
            y_range: None,
            x_label: "Rate (bpp)".to_string(),
            y_label: "PSNR (dB)".to_string(),
        }
    }
}

/// Our curves' colours (strong), then the colours and marker shapes cycled through by the other curves.
const OURS: [RGBColor; 3] = [
    RGBColor(214, 39, 40),
    RGBColor(0, 0, 0),
    RGBColor(148, 0, 211),
];
const OTHERS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];
const SHAPES: usize = 5;

/// Draws quality-vs-rate curves to a PNG at `path`: `ours` thick, in strong colours with filled markers and listed
/// first in the legend; `others` thinner with hollow markers. Lines and markers are clipped to the axis ranges.
pub fn plot_rd(
    path: &Path,
    title: &str,
    ours: &[RdCurve],
    others: &[RdCurve],
    options: &PlotOptions,
) -> Result<(), EvalError> {
    register_font()?;
    let (x_range, y_range) = ranges(ours, others, options)?;
    let root = BitMapBackend::new(path, (options.width, options.height)).into_drawing_area();
    draw(&root, title, ours, others, options, x_range, y_range)
        .map_err(|e| EvalError::Plot(e.to_string()))?;
    root.present()
        .map_err(|e| EvalError::Plot(format!("{}: {e}", path.display())))
}

/// Registers the embedded font as plotters' "sans-serif" (once per process).
fn register_font() -> Result<(), EvalError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    ok.then_some(())
        .ok_or_else(|| EvalError::Plot("embedded font is invalid".to_string()))
}

type Range = (f64, f64);

fn ranges(
    ours: &[RdCurve],
    others: &[RdCurve],
    options: &PlotOptions,
) -> Result<(Range, Range), EvalError> {
    let max_rate = |curves: &[RdCurve]| {
        curves
            .iter()
            .flat_map(|c| &c.points)
            .map(|p| p.0)
            .filter(|r| r.is_finite())
            .reduce(f64::max)
    };
    let x_range = match options.x_range {
        Some(r) => r,
        None => {
            let max = max_rate(ours)
                .or_else(|| max_rate(others))
                .ok_or_else(|| EvalError::Plot("no points".into()))?;
            (0.0, nice_ceil(1.2 * max))
        }
    };
    let y_range = options.y_range.unwrap_or_else(|| {
        // Span of the curves as seen through the rate window (clipped line ends included).
        let wide = (x_range.0, x_range.1, f64::NEG_INFINITY, f64::INFINITY);
        let ys: Vec<f64> = ours
            .iter()
            .chain(others)
            .flat_map(|c| clip_polyline(&sorted(c), wide))
            .flatten()
            .map(|p| p.1)
            .collect();
        let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() && hi.is_finite() {
            ((lo - 0.5).floor(), (hi + 0.5).ceil())
        } else {
            (0.0, 1.0)
        }
    });
    if !(x_range.0 < x_range.1 && y_range.0 < y_range.1) {
        return Err(EvalError::Plot(format!(
            "empty axis range: x {x_range:?}, y {y_range:?}"
        )));
    }
    Ok((x_range, y_range))
}

/// Rounds up to a multiple of half a power of ten (1.99 → 2.0, 0.62 → 0.65), so the last tick sits at the edge.
fn nice_ceil(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 {
        return 1.0;
    }
    let step = 10f64.powf(v.log10().floor()) / 2.0;
    (v / step - 1e-9).ceil() * step
}

/// Tick label: no decimals on whole numbers (PSNR in dB), otherwise up to 2.
fn tick_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').to_string()
    }
}

fn sorted(c: &RdCurve) -> Vec<(f64, f64)> {
    let mut p: Vec<_> = c
        .points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    p
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

fn draw(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    ours: &[RdCurve],
    others: &[RdCurve],
    options: &PlotOptions,
    x: Range,
    y: Range,
) -> PlotResult {
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 30))
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(70)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?;
    chart
        .configure_mesh()
        .x_desc(options.x_label.as_str())
        .y_desc(options.y_label.as_str())
        .axis_desc_style(("sans-serif", 24))
        .label_style(("sans-serif", 18))
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label)
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(200, 200, 200))
        .draw()?;

    let window = (x.0, x.1, y.0, y.1);
    // Ours are drawn first for a legend entry at the top, and again at the end so they sit above the others.
    let ours_styles: Vec<_> = (0..ours.len())
        .map(|i| CurveStyle {
            color: OURS[i % OURS.len()],
            shape: i,
            line_width: 4,
            marker_size: 6.0,
            filled: true,
        })
        .collect();
    let others_styles: Vec<_> = (0..others.len())
        .map(|i| CurveStyle {
            color: OTHERS[i % OTHERS.len()],
            shape: i + 1,
            line_width: 2,
            marker_size: 5.0,
            filled: false,
        })
        .collect();
    for (curve, style) in ours.iter().zip(&ours_styles) {
        draw_curve(&mut chart, curve, *style, window, true)?;
    }
    for (curve, style) in others.iter().zip(&others_styles) {
        draw_curve(&mut chart, curve, *style, window, true)?;
    }
    for (curve, style) in ours.iter().zip(&ours_styles) {
        draw_curve(&mut chart, curve, *style, window, false)?;
    }

    // Legend size estimated from the font (20 px text, ~11 px per character, 28 px rows) as a
    // fraction of the plotting area, to find the corner where it hides the least.
    let names = ours.iter().chain(others).map(|c| c.name.chars().count());
    let (area_w, area_h) = chart.plotting_area().dim_in_pixel();
    let legend = (
        (60.0 + 11.0 * names.max().unwrap_or(0) as f64) / area_w.max(1) as f64,
        (20.0 + 28.0 * (ours.len() + others.len()) as f64) / area_h.max(1) as f64,
    );
    chart
        .configure_series_labels()
        .position(legend_corner(ours, others, window, legend))
        .margin(15)
        .legend_area_size(40)
        .label_font(("sans-serif", 20))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The corner whose legend box of `size` (fractions of the plot's width and height) covers
/// the least of the curves, ours counting ten times as much; lower right when it is a tie,
/// the usual empty corner of a rate-distortion plot.
fn legend_corner(
    ours: &[RdCurve],
    others: &[RdCurve],
    window: Window,
    size: (f64, f64),
) -> SeriesLabelPosition {
    let (x0, x1, y0, y1) = window;
    let unit = |(x, y): (f64, f64)| ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
    // Samples along every visible segment, in plot fractions, with their weights.
    let mut samples = Vec::new();
    for (curves, weight) in [(ours, 10.0), (others, 1.0)] {
        for piece in curves
            .iter()
            .flat_map(|c| clip_polyline(&sorted(c), window))
        {
            for pair in piece.windows(2) {
                let (a, b) = (unit(pair[0]), unit(pair[1]));
                for k in 0..=32 {
                    let t = f64::from(k) / 32.0;
                    samples.push(((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)), weight));
                }
            }
        }
    }
    let (w, h) = (size.0.min(1.0), size.1.min(1.0));
    // (position, x span, y span); y grows upwards in plot fractions.
    let corners = [
        (SeriesLabelPosition::LowerRight, (1.0 - w, 1.0), (0.0, h)),
        (SeriesLabelPosition::UpperLeft, (0.0, w), (1.0 - h, 1.0)),
        (
            SeriesLabelPosition::UpperRight,
            (1.0 - w, 1.0),
            (1.0 - h, 1.0),
        ),
        (SeriesLabelPosition::LowerLeft, (0.0, w), (0.0, h)),
    ];
    let covered = |(xs, ys): ((f64, f64), (f64, f64))| -> f64 {
        samples
            .iter()
            .filter(|((x, y), _)| (xs.0..=xs.1).contains(x) && (ys.0..=ys.1).contains(y))
            .map(|(_, weight)| weight)
            .sum()
    };
    let mut best = (SeriesLabelPosition::LowerRight, f64::INFINITY);
    for (position, xs, ys) in corners {
        let c = covered((xs, ys));
        if c < best.1 {
            best = (position, c);
        }
    }
    best.0
}

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// How one curve is drawn.
#[derive(Clone, Copy)]
struct CurveStyle {
    color: RGBColor,
    shape: usize,
    line_width: u32,
    marker_size: f64,
    filled: bool,
}

fn draw_curve<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    curve: &RdCurve,
    st: CurveStyle,
    window: Window,
    label: bool,
) -> PlotResult {
    let line = st.color.stroke_width(st.line_width);
    let outline = marker_outline(st.shape, st.marker_size);
    // Hollow markers are white inside, which also hides the line under them.
    let (fill, stroke) = if st.filled {
        (st.color.filled(), st.color.stroke_width(1))
    } else {
        (WHITE.filled(), st.color.stroke_width(2))
    };
    let points = sorted(curve);
    for (i, piece) in clip_polyline(&points, window).into_iter().enumerate() {
        let series = chart.draw_series(LineSeries::new(piece, line))?;
        if label && i == 0 {
            let outline = outline.clone();
            series.label(curve.name.as_str()).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(-16, 0), (16, 0)], line)
                    + Polygon::new(outline.clone(), fill)
                    + PathElement::new(outline.clone(), stroke)
            });
        }
    }
    let (x0, x1, y0, y1) = window;
    let inside = points
        .into_iter()
        .filter(|&(x, y)| x >= x0 && x <= x1 && y >= y0 && y <= y1);
    chart.draw_series(inside.map(|p| {
        EmptyElement::at(p)
            + Polygon::new(outline.clone(), fill)
            + PathElement::new(outline.clone(), stroke)
    }))?;
    Ok(())
}

/// Closed outline, in pixels around the centre, of marker `shape`: circle, triangle, square, diamond, cross.
/// Every shape is a polygon so that filled and hollow markers share one element type.
fn marker_outline(shape: usize, r: f64) -> Vec<(i32, i32)> {
    let polar = |n: usize, radius: &dyn Fn(usize) -> f64, phase: f64| -> Vec<(i32, i32)> {
        (0..=n)
            .map(|i| {
                let a = phase + std::f64::consts::TAU * (i % n) as f64 / n as f64;
                let rr = radius(i % n);
                ((rr * a.cos()).round() as i32, (rr * a.sin()).round() as i32)
            })
            .collect()
    };
    let half_pi = std::f64::consts::FRAC_PI_2;
    match shape % SHAPES {
        0 => polar(16, &|_| r, 0.0),
        1 => polar(3, &|_| 1.3 * r, -half_pi),
        2 => polar(4, &|_| 1.2 * r, std::f64::consts::FRAC_PI_4),
        3 => polar(4, &|_| 1.35 * r, 0.0),
        // An "x": a plus sign of arm half-width a and length l, turned by 45°.
        _ => {
            let (a, l) = (0.4 * r, 1.4 * r);
            // Outline of the plus sign, closed (the first vertex repeated at the end).
            #[rustfmt::skip]
            let plus = [
                (a, l), (a, a), (l, a), (l, -a), (a, -a), (a, -l), (-a, -l),
                (-a, -a), (-l, -a), (-l, a), (-a, a), (-a, l), (a, l),
            ];
            let c = std::f64::consts::FRAC_1_SQRT_2;
            plus.iter()
                .map(|&(x, y)| (((x - y) * c).round() as i32, ((x + y) * c).round() as i32))
                .collect()
        }
    }
}

/// (x_min, x_max, y_min, y_max)
type Window = (f64, f64, f64, f64);

/// Clips a polyline to a window (Liang–Barsky per segment), returning the visible connected pieces.
fn clip_polyline(points: &[(f64, f64)], w: Window) -> Vec<Vec<(f64, f64)>> {
    let inside = |p: (f64, f64)| p.0 >= w.0 && p.0 <= w.1 && p.1 >= w.2 && p.1 <= w.3;
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    if points.len() == 1 && inside(points[0]) {
        pieces.push(points.to_vec());
    }
    let mut open = false;
    for seg in points.windows(2) {
        let Some((a, b)) = clip_segment(seg[0], seg[1], w) else {
            open = false;
            continue;
        };
        match pieces.last_mut() {
            Some(piece) if open && piece.last() == Some(&a) => piece.push(b),
            _ => pieces.push(vec![a, b]),
        }
        // The piece continues only if the segment was not cut at its end.
        open = b == seg[1];
    }
    pieces
}

fn clip_segment(a: (f64, f64), b: (f64, f64), w: Window) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - w.0),
        (dx, w.1 - a.0),
        (-dy, a.1 - w.2),
        (dy, w.3 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::report::ResultsFile;
    use std::path::PathBuf;

    fn curve(rel: &str) -> RdCurve {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(rel);
        ResultsFile::read(&path).unwrap().psnr_curve().unwrap()
    }

    fn out_path(name: &str) -> PathBuf {
        // ANSEL_PLOT_DIR keeps the image for a look; otherwise it goes to the temp dir and is removed.
        match std::env::var_os("ANSEL_PLOT_DIR") {
            Some(dir) => PathBuf::from(dir).join(name),
            None => std::env::temp_dir().join(format!("ansel-eval-{}-{name}", std::process::id())),
        }
    }

    #[test]
    fn writes_a_valid_png() {
        let ours = [curve(
            "compressai/compressai-bmshj2018-hyperprior_mse_cuda.json",
        )];
        let others: Vec<_> = [
            "baselines/jpeg.json",
            "baselines/webp.json",
            "baselines/avif444.json",
            "compressai/vtm.json",
        ]
        .iter()
        .map(|f| curve(f))
        .collect();
        let path = out_path("rd_test.png");
        plot_rd(
            &path,
            "Kodak: PSNR vs bpp",
            &ours,
            &others,
            &PlotOptions::default(),
        )
        .unwrap();
        let img = image::open(&path).unwrap();
        assert_eq!((img.width(), img.height()), (1200, 800));
        // Something was drawn in our colour (the red curve).
        let red = img
            .to_rgb8()
            .pixels()
            .filter(|p| p.0 == [214, 39, 40])
            .count();
        assert!(red > 1000, "{red} red pixels");
        if std::env::var_os("ANSEL_PLOT_DIR").is_none() {
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn explicit_ranges_and_errors() {
        let vtm = curve("compressai/vtm.json");
        let opts = PlotOptions {
            x_range: Some((0.0, 1.0)),
            y_range: Some((25.0, 40.0)),
            ..PlotOptions::default()
        };
        let path = out_path("rd_ranges.png");
        plot_rd(&path, "ranges", &[], std::slice::from_ref(&vtm), &opts).unwrap();
        if std::env::var_os("ANSEL_PLOT_DIR").is_none() {
            std::fs::remove_file(&path).unwrap();
        }
        assert!(matches!(
            plot_rd(&path, "none", &[], &[], &PlotOptions::default()),
            Err(EvalError::Plot(_))
        ));
    }

    #[test]
    fn the_legend_goes_where_it_hides_least() {
        let named = |name: &str, points: &[(f64, f64)]| RdCurve {
            name: name.to_string(),
            points: points.to_vec(),
        };
        let window = (0.0, 2.0, 20.0, 40.0);
        let size = (0.4, 0.3);
        // Typical RD curves rise steeply then flatten: the lower right is empty.
        let classic = [named(
            "a",
            &[(0.1, 26.0), (0.5, 33.0), (1.0, 36.0), (2.0, 39.0)],
        )];
        assert!(matches!(
            legend_corner(&classic, &[], window, size),
            SeriesLabelPosition::LowerRight
        ));
        // A low, flat curve of ours along the bottom moves the legend to the empty upper left.
        let flat = [named("ours", &[(0.3, 21.0), (1.0, 22.5), (1.9, 23.5)])];
        assert!(matches!(
            legend_corner(&flat, &classic, window, size),
            SeriesLabelPosition::UpperLeft
        ));
    }

    #[test]
    fn clipping() {
        let w = (0.0, 1.0, 0.0, 10.0);
        let pieces = clip_polyline(&[(0.5, 1.0), (1.5, 3.0), (2.0, 4.0)], w);
        assert_eq!(pieces, vec![vec![(0.5, 1.0), (1.0, 2.0)]]);
        // Leaves the window and comes back: two pieces.
        let pieces = clip_polyline(&[(0.0, 5.0), (0.5, 15.0), (1.0, 5.0)], w);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0], vec![(0.0, 5.0), (0.25, 10.0)]);
        assert_eq!(pieces[1], vec![(0.75, 10.0), (1.0, 5.0)]);
        assert!(clip_polyline(&[(2.0, 1.0), (3.0, 2.0)], w).is_empty());
    }
}
