//! Drawing one panel of a chart: its ranges and ticks, its series and bands, its legend
//! beside the plotting area; returns where everything went (the layout the tests check).

use super::layout::{PanelLayout, Rect};
use super::legend;
use super::spec::{Mark, Panel};
use super::style::{colour, FAMILY};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Data ranges with a little margin; y from the points and bands.
fn ranges(panel: &Panel) -> ((f64, f64), (f64, f64)) {
    let xs = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0));
    let (mut x0, mut x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    // Log-x panels hold log10 values: a fixed half-unit pad would be half a decade.
    let min_pad = if panel.log_x { 0.05 } else { 0.5 };
    let pad = ((x1 - x0) * 0.04).max(min_pad);
    let ys = panel.series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|p| p.1)
            .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
    });
    let ys: Vec<f64> = ys
        .chain(panel.reference_y.iter().copied())
        .filter(|y| y.is_finite() && (!panel.log_y || *y > 0.0))
        .collect();
    let (mut y0, mut y1) = ys
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    if y0 > y1 {
        (y0, y1) = if panel.log_y { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    let y = match panel.y_range {
        Some(r) => r,
        None if panel.log_y => (y0 / 1.5, y1 * 1.5),
        None => {
            let m = ((y1 - y0) * 0.06).max(1e-3);
            (y0 - m, y1 + m)
        }
    };
    ((x0 - pad, x1 + pad), y)
}

fn x_label(panel: &Panel, x: f64) -> String {
    if panel.log_x {
        // x is log10 of the value: label ticks that land within 1% of 1, 2 or 5 times a
        // power of 10 (the tick positions are linear in the logarithm).
        let value = 10f64.powf(x);
        let decade = 10f64.powf(x.floor());
        let nice = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * decade)
            .find(|v| (value / v - 1.0).abs() < 0.01);
        nice.map_or(String::new(), |v| format!("{}", (v * 1e6).round() / 1e6))
    } else if panel.x_integer {
        // Whole numbers only; fractional ticks get no label.
        if (x - x.round()).abs() < 1e-9 {
            format!("{}", x.round() as i64)
        } else {
            String::new()
        }
    } else {
        format!("{x}")
    }
}

pub(super) fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
) -> Result<PanelLayout, String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    if panel.series.iter().all(|s| s.points.is_empty()) {
        let note = panel.empty_note.clone().unwrap_or_else(|| "no data".into());
        area.titled(&panel.title, (FAMILY, 16).into_font())
            .map_err(e)?;
        area.draw_text(
            &note,
            &TextStyle::from((FAMILY, 14).into_font()).color(&BLACK.mix(0.6)),
            (20, 60),
        )
        .map_err(e)?;
        return Ok(PanelLayout {
            title: panel.title.clone(),
            x_range: [0.0, 1.0],
            y_range: [0.0, 1.0],
            x_log: false,
            y_log: false,
            plot_area: None,
            legend: None,
        });
    }
    let logged;
    let panel = if panel.log_x {
        logged = panel.with_x_logged();
        &logged
    } else {
        panel
    };
    let ((x0, x1), (y0, y1)) = ranges(panel);
    // The legend gets its own column at the right, beside the plotting area.
    let (width, _) = area.dim_in_pixel();
    let legend_width = legend::width(&panel.series).min(width / 2);
    let (chart_area, legend_area) = area.split_horizontally(width - legend_width);
    let mut builder = ChartBuilder::on(&chart_area);
    builder
        .caption(&panel.title, (FAMILY, 16).into_font())
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(56);
    let plot = if panel.log_y {
        let mut chart = builder
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(&panel.x_label)
            .y_desc(&panel.y_label)
            .x_label_formatter(&|x| x_label(panel, *x))
            .y_label_formatter(&|y| format!("{y}"))
            .label_style((FAMILY, 12))
            .axis_desc_style((FAMILY, 13))
            .draw()
            .map_err(e)?;
        draw_series(&mut chart, panel, (x0, x1)).map_err(e)?;
        chart.plotting_area().get_pixel_range()
    } else {
        let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(e)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| x_label(panel, *x))
            .x_desc(&panel.x_label)
            .y_desc(&panel.y_label)
            .label_style((FAMILY, 12))
            .axis_desc_style((FAMILY, 13))
            .draw()
            .map_err(e)?;
        draw_series(&mut chart, panel, (x0, x1)).map_err(e)?;
        chart.plotting_area().get_pixel_range()
    };
    let plot_area = Rect::spanning(plot.0, plot.1);
    let legend_top = plot_area.y - legend_area.get_base_pixel().1;
    let legend = legend::draw(&legend_area, legend_top, &panel.series)?;
    let x_range = if panel.log_x {
        [10f64.powf(x0), 10f64.powf(x1)]
    } else {
        [x0, x1]
    };
    Ok(PanelLayout {
        title: panel.title.clone(),
        x_range,
        y_range: [y0, y1],
        x_log: panel.log_x,
        y_log: panel.log_y,
        plot_area: Some(plot_area),
        legend,
    })
}

fn draw_series<'a, DB: DrawingBackend + 'a, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    panel: &Panel,
    (x0, x1): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    Y: Ranged<ValueType = f64>,
{
    let faint = ShapeStyle::from(&BLACK.mix(0.35)).stroke_width(1);
    for &y in &panel.reference_y {
        chart.draw_series(DashedLineSeries::new(vec![(x0, y), (x1, y)], 4, 4, faint))?;
    }
    if !panel.separators_x.is_empty() {
        let (y0, y1) = (chart.y_range().start, chart.y_range().end);
        for &x in &panel.separators_x {
            chart.draw_series(LineSeries::new(vec![(x, y0), (x, y1)], faint))?;
        }
    }
    if !panel.labels_x.is_empty() {
        // Hung from the top edge: centred on x, a few pixels below the frame.
        let top = chart.y_range().end;
        let grey = BLACK.mix(0.75);
        let style = TextStyle::from((FAMILY, 12).into_font())
            .color(&grey)
            .pos(Pos::new(HPos::Center, VPos::Top));
        chart.draw_series(panel.labels_x.iter().map(|(x, text)| {
            EmptyElement::at((*x, top)) + Text::new(text.clone(), (0, 4), style.clone())
        }))?;
    }
    for s in &panel.series {
        let c = colour(s.colour);
        if s.band.len() > 1 {
            let mut outline: Vec<(f64, f64)> = s.band.iter().map(|b| (b.0, b.2)).collect();
            outline.extend(s.band.iter().rev().map(|b| (b.0, b.1)));
            chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18).filled())))?;
        }
        let style = ShapeStyle::from(&c).stroke_width(2);
        let pts = s.points.clone();
        match s.mark {
            Mark::Line => chart.draw_series(LineSeries::new(pts, style))?,
            Mark::Dashed => chart.draw_series(DashedLineSeries::new(pts, 8, 5, style))?,
            Mark::Dotted => chart.draw_series(DashedLineSeries::new(pts, 2, 4, style))?,
            // Small and translucent: thousands of nodes overlap (Fig. 1).
            Mark::Points => chart.draw_series(
                pts.into_iter()
                    .map(|p| Circle::new(p, 2, c.mix(0.55).filled())),
            )?,
        };
        // Small markers on line series keep single points visible.
        if s.mark != Mark::Points && s.points.len() <= 30 {
            chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 2, c.filled())))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plots::spec::Series;

    #[test]
    fn log_x_ticks_are_labelled_at_1_2_and_5_times_powers_of_10() {
        let panel = Panel::new("t", "x", "y").with_log_x();
        let label = |v: f64| x_label(&panel, v.log10());
        assert_eq!(label(1.0), "1");
        assert_eq!(label(2.0), "2");
        assert_eq!(label(50.0), "50");
        assert_eq!(label(200.0), "200");
        assert_eq!(x_label(&panel, 0.35), "", "10^0.35 = 2.24 is no nice value");
        assert_eq!(x_label(&panel, 0.6), "", "10^0.6 = 3.98");
    }

    #[test]
    fn log_x_drops_non_positive_points_before_drawing() {
        let panel = Panel::new("t", "x", "y")
            .with_log_x()
            .with_series(vec![Series::new(
                "s",
                vec![(0.0, 1.0), (10.0, 2.0), (100.0, 3.0)],
                Mark::Line,
                0,
            )]);
        assert_eq!(
            panel.with_x_logged().series[0].points,
            [(1.0, 2.0), (2.0, 3.0)]
        );
    }
}
