//! The report's charts as inline SVG, drawn with plotters: no script, no font or file from
//! elsewhere, so the report opens offline.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor;

use crate::error::{Error, Result};

fn chart_error(e: impl std::fmt::Display) -> Error {
    Error::Report(format!("chart: {e}"))
}

const FONT: &str = "sans-serif";

/// The series' legend, the same on every chart.
fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 12))
        .draw()
        .map_err(chart_error)
}

/// One coloured series of a chart.
pub struct Series<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    pub values: Vec<u64>,
}

/// Bars per category, the series stacked in order.
pub fn stacked_bars(title: &str, categories: &[String], series: &[Series]) -> Result<String> {
    let n = categories.len().max(1);
    let top = (0..categories.len())
        .map(|i| series.iter().map(|s| s.values[i]).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(56)
            .build_cartesian_2d((0..n).into_segmented(), 0u64..top + top / 10 + 1)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => categories.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_style((FONT, 11))
            .draw()
            .map_err(chart_error)?;
        let mut base = vec![0u64; categories.len()];
        for s in series {
            let bars: Vec<_> = (0..categories.len())
                .map(|i| {
                    let (from, to) = (base[i], base[i] + s.values[i]);
                    base[i] = to;
                    Rectangle::new(
                        [
                            (SegmentValue::Exact(i), from),
                            (SegmentValue::Exact(i + 1), to),
                        ],
                        s.color.filled(),
                    )
                })
                .collect();
            let color = s.color;
            chart
                .draw_series(bars)
                .map_err(chart_error)?
                .label(s.label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        legend(&mut chart)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// One line per series across runs (oldest first).
pub fn trend(title: &str, runs: &[String], series: &[Series]) -> Result<String> {
    let n = runs.len().max(1);
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0..n, 0u64..top + top / 10 + 1)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .x_labels(n.min(12))
            .x_label_formatter(&|i| runs.get(*i).cloned().unwrap_or_default())
            .x_label_style((FONT, 11))
            .draw()
            .map_err(chart_error)?;
        for s in series {
            let color = s.color;
            chart
                .draw_series(LineSeries::new(
                    s.values.iter().enumerate().map(|(i, v)| (i, *v)),
                    color.stroke_width(2),
                ))
                .map_err(chart_error)?
                .label(s.label)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    s.values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| Circle::new((i, *v), 3, color.filled())),
                )
                .map_err(chart_error)?;
        }
        legend(&mut chart)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// A grid's cell on the map: a closed ring of (longitude, latitude) and its level's index.
pub struct Cell {
    pub ring: [(f64, f64); 5],
    pub level: usize,
}

/// The grids as cells coloured by level, with the districts' names hanging from the points
/// given (under their cells); `levels` gives each level's label and colour.
pub fn map(
    title: &str,
    cells: &[Cell],
    labels: &[(String, f64, f64)],
    levels: &[(&str, RGBColor)],
) -> Result<String> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in cells.iter().flat_map(|c| c.ring.iter()) {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if cells.is_empty() {
        (x0, x1, y0, y1) = (109.5, 117.5, 20.0, 25.6); // Guangdong
    }
    let pad = |a: f64, b: f64| ((b - a) * 0.05).max(0.02);
    let (px, py) = (pad(x0, x1), pad(y0, y1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 640)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0 - px..x1 + px, y0 - py..y1 + py)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .x_desc("°E")
            .y_desc("°N")
            .light_line_style(WHITE)
            .draw()
            .map_err(chart_error)?;
        for (k, (label, color)) in levels.iter().enumerate() {
            let color = *color;
            chart
                .draw_series(
                    cells
                        .iter()
                        .filter(|c| c.level == k)
                        .map(|c| Polygon::new(c.ring.to_vec(), color.mix(0.75).filled())),
                )
                .map_err(chart_error)?
                .label(*label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
            chart
                .draw_series(
                    cells
                        .iter()
                        .filter(|c| c.level == k)
                        .map(|c| PathElement::new(c.ring.to_vec(), BLACK.mix(0.6).stroke_width(1))),
                )
                .map_err(chart_error)?;
        }
        chart
            .draw_series(labels.iter().map(|(name, x, y)| {
                Text::new(
                    name.clone(),
                    (*x, *y),
                    (FONT, 13)
                        .into_font()
                        .color(&BLACK)
                        .pos(text_anchor::Pos::new(
                            text_anchor::HPos::Center,
                            text_anchor::VPos::Top,
                        )),
                )
            }))
            .map_err(chart_error)?;
        legend(&mut chart)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}
