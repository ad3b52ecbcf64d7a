//! The SVG beside `RESULTS.md` (plotters, SVG backend, text as SVG text):
//! requests/s per saturation case with each proxy's floor (the no-op
//! module) marked, and the fixed-rate latency percentiles.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use crate::cases::{Proxy, Target};
use crate::report::{latency, rps};
use crate::Results;

const HOST: RGBColor = RGBColor(31, 119, 180);
const ENVOY: RGBColor = RGBColor(255, 127, 14);
const NATIVE: RGBColor = RGBColor(44, 160, 44);
const OTHER: RGBColor = RGBColor(127, 127, 127);
const FLOOR: RGBColor = RGBColor(214, 39, 40);

fn colour(target: Target) -> RGBColor {
    match (target, target.proxy()) {
        (Target::EnvoyJwtAuthn, _) => NATIVE,
        (_, Proxy::Host) => HOST,
        (_, Proxy::Envoy) => ENVOY,
        (_, Proxy::None) => OTHER,
    }
}

/// One line of the latency chart: label, (percentile index, µs), proxy.
type Line = (String, Vec<(usize, f64)>, Target);

/// Draws the chart into `path`.
pub fn draw(path: &Path, r: &Results) -> Result<()> {
    let mut bars: Vec<(String, f64, Target)> = r
        .cases
        .iter()
        .filter_map(|c| Some((format!("{} {}", c.id, c.label), rps(r, c.id)?, c.target)))
        .collect();
    // Row 0 is drawn at the bottom: the first case goes on top.
    bars.reverse();
    let rows = bars.len().max(1);
    let top = 90 + 24 * rows as u32;
    let height = top + if r.fixed.is_empty() { 0 } else { 420 };
    let root = SVGBackend::new(path, (1200, height)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<_>| anyhow!("drawing {}: {e:?}", path.display());
    root.fill(&WHITE).map_err(e)?;
    let (upper, lower) = root.split_vertically(top);

    let max = bars.iter().map(|b| b.1).fold(1.0, f64::max) * 1.12;
    let mut chart = ChartBuilder::on(&upper)
        .caption(
            "requests/s at saturation (wrk); red line: the proxy's floor (no-op module)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(470)
        .build_cartesian_2d(0f64..max, (0..rows).into_segmented())
        .map_err(e)?;
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_desc("requests/s")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(e)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v, t))| {
            Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (*v, SegmentValue::Exact(i + 1)),
                ],
                colour(*t).mix(0.8).filled(),
            )
        }))
        .map_err(e)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v, _))| {
            Text::new(
                format!(" {v:.0}"),
                (*v, SegmentValue::CenterOf(i)),
                ("sans-serif", 12),
            )
        }))
        .map_err(e)?;
    // The floor of each proxy, across that proxy's rows.
    for (proxy, floor_id) in [(Proxy::Host, "2n"), (Proxy::Envoy, "7n")] {
        let Some(floor) = rps(r, floor_id) else {
            continue;
        };
        let idx: Vec<usize> = bars
            .iter()
            .enumerate()
            .filter(|(_, b)| b.2.proxy() == proxy)
            .map(|(i, _)| i)
            .collect();
        let (Some(first), Some(last)) = (idx.first(), idx.last()) else {
            continue;
        };
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![
                    (floor, SegmentValue::Exact(*first)),
                    (floor, SegmentValue::Exact(*last + 1)),
                ],
                FLOOR.stroke_width(2),
            )))
            .map_err(e)?;
    }

    if !r.fixed.is_empty() {
        let names: Vec<&str> = crate::oha::PERCENTILES.iter().map(|(n, _)| *n).collect();
        let lines: Vec<Line> = r
            .fixed
            .iter()
            .map(|f| {
                let points = crate::oha::PERCENTILES
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (_, p))| Some((i, latency(r, f.id, *p)?)))
                    .collect();
                (format!("{} {}", f.id, f.label), points, f.target)
            })
            .collect();
        let all = lines.iter().flat_map(|l| l.1.iter().map(|p| p.1));
        let lo = all.clone().fold(f64::INFINITY, f64::min).max(1.0);
        let hi = all.fold(1.0, f64::max).max(lo * 2.0);
        let mut chart = ChartBuilder::on(&lower)
            .caption(
                "latency at a fixed rate (oha, corrected for coordinated omission), µs",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(0usize..names.len() - 1, (lo * 0.8..hi * 1.25).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_labels(names.len())
            .x_label_formatter(&|i| names.get(*i).map(|s| s.to_string()).unwrap_or_default())
            .y_desc("µs")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(e)?;
        for (label, points, target) in &lines {
            // The floor dashed-looking (thin), the filter thick.
            let floor = matches!(target, Target::HostNoop | Target::EnvoyNoop);
            let style = colour(*target).stroke_width(if floor { 1 } else { 3 });
            chart
                .draw_series(LineSeries::new(points.iter().copied(), style))
                .map_err(e)?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}
