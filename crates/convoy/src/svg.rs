//! Hand-written SVG charts for reports: a line chart (WAN load over time, one
//! line per strategy) and a Gantt chart (each VM's move, stage by stage).
//!
//! Lines are labelled at their right end and Gantt stages by colour with a key
//! above the bars, so a reader never hunts for a legend. Output is
//! deterministic: same data, same bytes.

use std::fmt::Write;

/// One named line of a [`LineChart`].
#[derive(Debug, Clone)]
pub struct Series {
    /// Shown at the line's right end.
    pub name: String,
    /// `(x, y)` points, x increasing; drawn as a step function (value holds until the next point).
    pub points: Vec<(f64, f64)>,
}

/// A chart of several series over a shared x axis.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// x axis label, with unit.
    pub x_label: String,
    /// y axis label, with unit.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
}

/// One bar segment of a [`Gantt`] row.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Start, in x units.
    pub start: f64,
    /// End, in x units.
    pub end: f64,
    /// Index into [`Gantt::kinds`]: decides the colour.
    pub kind: usize,
}

/// A Gantt chart: one row per item (VM), segments coloured by kind (stage).
#[derive(Debug, Clone)]
pub struct Gantt {
    /// Title above the chart.
    pub title: String,
    /// x axis label, with unit.
    pub x_label: String,
    /// Names of the segment kinds, shown as a key.
    pub kinds: Vec<String>,
    /// `(row label, segments)`.
    pub rows: Vec<(String, Vec<Segment>)>,
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 215.0;
const RIGHT: f64 = 190.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" tick step (1, 2 or 5 × 10^k) giving about `target` ticks over `span`.
fn tick_step(span: f64, target: f64) -> f64 {
    if span.is_nan() || span <= 0.0 {
        return 1.0;
    }
    let raw = span / target;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm < 1.5 {
        1.0
    } else if norm < 3.5 {
        2.0
    } else if norm < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Formats a tick value compactly with SI prefixes (1.5k, 20M, 3G).
fn si(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{suffix}")
}

/// Draws x and y axes with ticks into `out` for the plot box, returning nothing.
#[allow(clippy::too_many_arguments)]
fn axes(
    out: &mut String,
    top: f64,
    height: f64,
    x_max: f64,
    y_max: Option<f64>,
    x_label: &str,
    y_label: &str,
) {
    let plot_w = WIDTH - LEFT - RIGHT;
    let bottom = top + height;
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="#333"/>"##,
        LEFT + plot_w
    );
    let step = tick_step(x_max, 8.0);
    let mut t = 0.0;
    while t <= x_max * 1.0001 {
        let x = LEFT + t / x_max.max(f64::MIN_POSITIVE) * plot_w;
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{:.1}" stroke="#333"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            bottom + 4.0,
            bottom + 16.0,
            si(t)
        );
        t += step;
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"##,
        LEFT + plot_w / 2.0,
        bottom + 32.0,
        escape(x_label)
    );
    if let Some(y_max) = y_max {
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{bottom}" stroke="#333"/>"##
        );
        let step = tick_step(y_max, 5.0);
        let mut v = 0.0;
        while v <= y_max * 1.0001 {
            let y = bottom - v / y_max * height;
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                y + 4.0,
                si(v)
            );
            v += step;
        }
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 {:.1} {:.1})">{}</text>"##,
            LEFT - 55.0,
            top + height / 2.0,
            LEFT - 55.0,
            top + height / 2.0,
            escape(y_label)
        );
    }
}

impl LineChart {
    /// Height of the chart in pixels.
    fn height(&self) -> f64 {
        320.0
    }

    fn draw(&self, out: &mut String, top: f64) {
        let plot_top = top + 30.0;
        let plot_h = self.height() - 80.0;
        let plot_w = WIDTH - LEFT - RIGHT;
        let x_max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let y_max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        let y_max = if y_max > 0.0 { y_max * 1.05 } else { 1.0 };
        let _ = writeln!(
            out,
            r##"<text x="{LEFT}" y="{:.1}" font-size="15" font-weight="bold">{}</text>"##,
            top + 18.0,
            escape(&self.title)
        );
        axes(
            out,
            plot_top,
            plot_h,
            x_max,
            Some(y_max),
            &self.x_label,
            &self.y_label,
        );
        let sx = |x: f64| LEFT + x / x_max * plot_w;
        let sy = |y: f64| plot_top + plot_h - y / y_max * plot_h;
        // Labels at the right end, nudged apart so they never overlap.
        let mut label_ys: Vec<(f64, usize)> = Vec::new();
        for (i, s) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let mut d = String::new();
            let mut last_y = 0.0;
            for (j, &(x, y)) in s.points.iter().enumerate() {
                if j == 0 {
                    let _ = write!(d, "M{:.1},{:.1}", sx(x), sy(y));
                } else {
                    let _ = write!(d, " H{:.1} V{:.1}", sx(x), sy(y));
                }
                last_y = y;
            }
            let _ = writeln!(
                out,
                r##"<path d="{d}" fill="none" stroke="{color}" stroke-width="1.6"/>"##
            );
            label_ys.push((sy(last_y), i));
        }
        label_ys.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut prev = f64::NEG_INFINITY;
        for (y, i) in label_ys {
            let y = y.max(prev + 13.0);
            prev = y;
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="{}">{}</text>"##,
                LEFT + plot_w + 6.0,
                y + 4.0,
                COLORS[i % COLORS.len()],
                escape(&self.series[i].name)
            );
        }
    }
}

impl Gantt {
    const ROW: f64 = 14.0;

    fn height(&self) -> f64 {
        80.0 + Self::ROW * self.rows.len() as f64 + 40.0
    }

    fn draw(&self, out: &mut String, top: f64) {
        let plot_w = WIDTH - LEFT - RIGHT;
        let x_max = self
            .rows
            .iter()
            .flat_map(|r| r.1.iter().map(|s| s.end))
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let _ = writeln!(
            out,
            r##"<text x="{LEFT}" y="{:.1}" font-size="15" font-weight="bold">{}</text>"##,
            top + 18.0,
            escape(&self.title)
        );
        // The key, in one line above the bars.
        let mut kx = LEFT;
        for (k, name) in self.kinds.iter().enumerate() {
            let _ = writeln!(
                out,
                r##"<rect x="{kx:.1}" y="{:.1}" width="12" height="10" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
                top + 30.0,
                COLORS[k % COLORS.len()],
                kx + 16.0,
                top + 39.0,
                escape(name)
            );
            kx += 30.0 + 7.0 * name.len() as f64;
        }
        let rows_top = top + 55.0;
        for (r, (label, segments)) in self.rows.iter().enumerate() {
            let y = rows_top + r as f64 * Self::ROW;
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"##,
                LEFT - 6.0,
                y + 10.0,
                escape(label)
            );
            for s in segments {
                let x0 = LEFT + s.start / x_max * plot_w;
                let w = ((s.end - s.start) / x_max * plot_w).max(1.0);
                let _ = writeln!(
                    out,
                    r##"<rect x="{x0:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{}"/>"##,
                    y + 1.0,
                    Self::ROW - 3.0,
                    COLORS[s.kind % COLORS.len()]
                );
            }
        }
        let height = Self::ROW * self.rows.len() as f64;
        axes(out, rows_top, height, x_max, None, &self.x_label, "");
    }
}

/// One chart of a report.
#[derive(Debug, Clone)]
pub enum Chart {
    /// A line chart.
    Lines(LineChart),
    /// A Gantt chart.
    Gantt(Gantt),
}

/// Renders the charts one under the other as a standalone SVG document.
pub fn render(title: &str, charts: &[Chart]) -> String {
    let mut body = String::new();
    let mut top = 40.0;
    for chart in charts {
        match chart {
            Chart::Lines(c) => {
                c.draw(&mut body, top);
                top += c.height();
            }
            Chart::Gantt(g) => {
                g.draw(&mut body, top);
                top += g.height();
            }
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{top:.0}\" viewBox=\"0 0 {WIDTH} {top:.0}\" font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"20\" y=\"26\" font-size=\"18\" font-weight=\"bold\">{}</text>\n{body}</svg>\n",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice() {
        assert_eq!(tick_step(100.0, 5.0), 20.0);
        assert_eq!(tick_step(7.0, 8.0), 1.0);
        assert_eq!(si(1_500_000.0), "1.5M");
        assert_eq!(si(0.0), "0");
    }

    #[test]
    fn renders_escaped_deterministic_svg() {
        let chart = LineChart {
            title: "WAN <load>".into(),
            x_label: "time (s)".into(),
            y_label: "bit/s".into(),
            series: vec![Series {
                name: "a & b".into(),
                points: vec![(0.0, 1.0), (2.0, 3.0)],
            }],
        };
        let gantt = Gantt {
            title: "moves".into(),
            x_label: "time (s)".into(),
            kinds: vec!["copy".into(), "downtime".into()],
            rows: vec![(
                "vm-1".into(),
                vec![
                    Segment {
                        start: 0.0,
                        end: 1.0,
                        kind: 0,
                    },
                    Segment {
                        start: 1.0,
                        end: 1.1,
                        kind: 1,
                    },
                ],
            )],
        };
        let charts = [Chart::Lines(chart), Chart::Gantt(gantt)];
        let a = render("report", &charts);
        assert_eq!(a, render("report", &charts));
        assert!(a.contains("WAN &lt;load&gt;") && a.contains("a &amp; b"));
        assert!(!a.contains("NaN") && !a.contains("inf"));
    }
}
