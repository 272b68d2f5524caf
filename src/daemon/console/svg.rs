//! Line charts drawn server-side as inline SVG: no script, nothing loaded from elsewhere.
//!
//! Each chart is an `<svg class="chart">` with one `<polyline>` per series and one
//! `<circle class="point">` per data point carrying its values in `data-x` (the point's index)
//! and `data-y`, and a `<title>` that a browser shows on hover.

use std::fmt::Write as _;

use super::escape;

/// One named series of values, one per cycle.
pub struct Series<'a> {
    /// Its name, shown in the legend.
    pub name: &'a str,
    /// Its values, oldest first.
    pub values: Vec<f64>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 24.0;
/// Colours of the series, in order (then repeated); `console.css` has the same as `.c0`…`.c5`.
const COLOURS: [&str; 6] = [
    "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2",
];

/// A line chart titled `title` of `series` over the same cycles, values in `unit`.
pub fn line_chart(id: &str, title: &str, unit: &str, series: &[Series<'_>]) -> String {
    let points = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let top = if top <= 0.0 { 1.0 } else { top * 1.1 };
    let x = |index: usize| -> f64 {
        if points <= 1 {
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (WIDTH - LEFT - RIGHT) * index as f64 / (points - 1) as f64
        }
    };
    let y = |value: f64| -> f64 {
        let value = if value.is_finite() { value } else { 0.0 };
        TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - value / top)
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<figure class=\"chart-box\"><figcaption>{} ({})</figcaption>\
         <svg class=\"chart\" id=\"{}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-label=\"{}\" data-points=\"{points}\">",
        escape(title),
        escape(unit),
        escape(id),
        escape(title)
    );
    // Axes and the top value.
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\" class=\"axis\"/>\
         <line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" class=\"axis\"/>\
         <text x=\"{tx}\" y=\"{ty}\" class=\"tick\" text-anchor=\"end\">{}</text>\
         <text x=\"{tx}\" y=\"{b}\" class=\"tick\" text-anchor=\"end\">0</text>",
        escape(&short(top)),
        b = HEIGHT - BOTTOM,
        r = WIDTH - RIGHT,
        tx = LEFT - 4.0,
        ty = TOP + 8.0,
    );
    if points == 0 {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"empty\" text-anchor=\"middle\">no cycle yet</text>",
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
    }
    for (index, one) in series.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let line: Vec<String> = one
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{colour}\" \
             stroke-width=\"2\" points=\"{}\"/>",
            escape(one.name),
            line.join(" ")
        );
        for (i, value) in one.values.iter().enumerate() {
            let _ = write!(
                svg,
                "<circle class=\"point\" data-series=\"{}\" data-x=\"{i}\" data-y=\"{}\" \
                 cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{}: {} {}</title></circle>",
                escape(one.name),
                short(*value),
                x(i),
                y(*value),
                escape(one.name),
                short(*value),
                escape(unit)
            );
        }
    }
    svg.push_str("</svg><ul class=\"legend\">");
    for (index, one) in series.iter().enumerate() {
        let _ = write!(
            svg,
            "<li><span class=\"swatch c{}\"></span>{}</li>",
            index % COLOURS.len(),
            escape(one.name)
        );
    }
    svg.push_str("</ul></figure>");
    svg
}

/// A value as a short text: whole numbers without decimals, others to three significant places.
fn short(value: f64) -> String {
    if !value.is_finite() {
        return "0".to_owned();
    }
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_a_point_with_its_data() {
        let chart = line_chart(
            "duration",
            "Reconcile duration",
            "s",
            &[Series {
                name: "duration",
                values: vec![0.5, 2.0, 1.25],
            }],
        );
        assert_eq!(chart.matches("<circle class=\"point\"").count(), 3);
        assert!(chart.contains("data-x=\"1\" data-y=\"2\""), "{chart}");
        assert!(chart.contains("data-y=\"1.250\""), "{chart}");
        assert!(chart.contains("data-points=\"3\""));
    }

    #[test]
    fn names_are_escaped_and_empty_charts_say_so() {
        let chart = line_chart(
            "x",
            "<b>",
            "s",
            &[Series {
                name: "<script>",
                values: Vec::new(),
            }],
        );
        assert!(!chart.contains("<script>"));
        assert!(chart.contains("&lt;script&gt;"));
        assert!(chart.contains("no cycle yet"));
    }
}
