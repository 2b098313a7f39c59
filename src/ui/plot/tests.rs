//! What a chart must be, whatever the data: a well-formed SVG naming its series and axes, and a
//! terminal version within 12 lines of 80 columns.

use rand::{RngExt, SeedableRng};

use super::*;
use crate::cli::ColorChoice;

fn plain() -> Paint {
    Paint::new(ColorChoice::Never)
}

/// The text of every `<text>` element, unescaped enough for these tests.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// The SVG is one document with balanced text elements and something drawn.
#[track_caller]
fn assert_well_formed(svg: &str) {
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    assert!(
        !svg.contains("NaN") && !svg.contains("inf"),
        "no broken numbers"
    );
}

/// Every line at most 80 columns, at most 12 lines.
#[track_caller]
fn assert_compact(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() <= 12, "{} lines:\n{text}", lines.len());
    for line in &lines {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

fn depth_chart() -> LineChart {
    let t: Vec<f64> = (0..=120).map(|i| f64::from(i) * 0.05).collect();
    LineChart::new(
        "Queue depth over 6 min of simulated time",
        "simulated time (min)",
        "messages",
    )
    .series(
        "retry queue",
        t.iter().map(|t| (*t, (t * 60.0).min(180.0 - t * 20.0))),
    )
    .series("dead letters", t.iter().map(|t| (*t, (t * 18.0).floor())))
}

fn latencies(seed: u64, n: usize, centre_ms: f64, spread: f64) -> Vec<f64> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u: f64 = rng.random();
            centre_ms * (spread * (u - 0.5) * 2.0).exp()
        })
        .collect()
}

fn cdc_against_polling() -> Distribution {
    let mut cdc = latencies(1, 10_000, 1.2, 2.0);
    cdc.extend([0.05, 0.051]);
    let mut polling = latencies(2, 10_000, 250.0, 1.0);
    polling.push(1000.0);
    Distribution::new("CDC against polling", "delivery latency (ms)")
        .sample("CDC", cdc)
        .sample("polling 500 ms", polling)
}

#[test]
fn a_line_chart_names_its_series_and_axes_and_draws_lines() {
    let svg = depth_chart().svg().unwrap();
    assert_well_formed(&svg);
    let texts = texts(&svg);
    for wanted in [
        "Queue depth over 6 min of simulated time",
        "retry queue",
        "dead letters",
        "simulated time (min)",
        "messages",
    ] {
        assert!(texts.iter().any(|t| t == wanted), "{wanted} in {texts:?}");
    }
    // A line per series, each a polyline through its points.
    let lines: Vec<&str> = svg
        .split("<polyline")
        .skip(1)
        .filter(|p| p.contains("stroke-width=\"2\""))
        .collect();
    assert!(lines.len() >= 2, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.matches(',').count() > 100),
        "the retry queue's 121 points are drawn"
    );
    for tick in ["0", "1", "2", "3", "4", "5", "6", "20", "60", "100", "140"] {
        assert!(texts.iter().any(|t| t == tick), "tick {tick} in {texts:?}");
    }
}

#[test]
fn log_axes_tick_at_round_values_only() {
    let chart = LineChart::new("Poll time against table size", "rows", "poll time (ms)")
        .log_x()
        .log_y()
        .series("no index", [(1e4, 2.0), (1e5, 21.0), (1e6, 230.0)])
        .series("partial index", [(1e4, 0.3), (1e5, 0.31), (1e6, 0.35)]);
    let svg = chart.svg().unwrap();
    assert_well_formed(&svg);
    let texts = texts(&svg);
    let numeric: Vec<&String> = texts
        .iter()
        .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(
        numeric,
        [
            "0.1", "1", "10", "100", "1k", // y: decades
            "10k", "20k", "50k", "100k", "200k", "500k", "1M", // x: two decades, so 2 and 5
        ],
        "{texts:?}"
    );
    assert!(texts.contains(&"rows, log scale".to_string()), "{texts:?}");
    assert!(texts.contains(&"poll time (ms), log scale".to_string()));
    // Six points, each marked.
    assert_eq!(svg.matches("<circle").count(), 6);
}

#[test]
fn names_are_escaped_in_the_svg() {
    let svg = LineChart::new("a <b> & \"c\"", "x", "y")
        .series("p99 < 5 ms & rising", [(0.0, 1.0), (1.0, 2.0)])
        .svg()
        .unwrap();
    assert_well_formed(&svg);
    assert!(svg.contains("p99 &lt; 5 ms &amp; rising"));
    assert!(svg.contains("a &lt;b&gt; &amp; &quot;c&quot;"));
}

#[test]
fn a_distribution_marks_each_sample_with_its_percentiles() {
    let dist = cdc_against_polling();
    let svg = dist.svg().unwrap();
    assert_well_formed(&svg);
    let texts = texts(&svg);
    let legend: Vec<&String> = texts.iter().filter(|t| t.contains(": p50 ")).collect();
    assert_eq!(legend.len(), 2, "{texts:?}");
    assert!(legend[0].starts_with("CDC: p50 1.") && legend[0].ends_with("n 10002"));
    assert!(legend[1].starts_with("polling 500 ms: p50 2"), "{legend:?}");
    for wanted in [
        "p50",
        "p99",
        "delivery latency (ms), log scale",
        "share of samples (%)",
    ] {
        assert!(texts.iter().any(|t| t == wanted), "{wanted} in {texts:?}");
    }
    for tick in ["0.01", "0.1", "1", "10", "100", "1k"] {
        assert!(texts.iter().any(|t| t == tick), "tick {tick} in {texts:?}");
    }
    // A filled outline per sample, and its two percentile lines dashed into short segments.
    assert_eq!(svg.matches("<polygon").count(), 2);
    assert!(svg.matches("<line").count() > 20);
}

#[test]
fn a_figure_stacks_panels_with_their_own_captions_and_colours() {
    let figure = Figure::new("Retention window")
        .panel(
            LineChart::new("Duplicates applied a second time", "hours", "duplicates")
                .log_x()
                .series("duplicates re-applied", [(1.0, 362.0), (96.0, 0.0)]),
        )
        .panel(
            LineChart::new("What the inbox grows to", "hours", "rows")
                .log_x()
                .series("inbox rows at most", [(1.0, 574.0), (96.0, 20_000.0)]),
        );
    let svg = figure.svg().unwrap();
    assert_well_formed(&svg);
    let texts = texts(&svg);
    for wanted in [
        "Retention window",
        "Duplicates applied a second time",
        "What the inbox grows to",
        "duplicates re-applied",
        "inbox rows at most",
    ] {
        assert!(texts.iter().any(|t| t == wanted), "{wanted} in {texts:?}");
    }
    assert!(svg.contains("#0072B2") && svg.contains("#D55E00"));
    // In the terminal, panels over the same x axis share one chart.
    let term = figure.terminal(plain());
    assert_compact(&term);
    assert!(term.starts_with("Retention window\n"));
    assert_eq!(term.matches("hours, log scale").count(), 1, "{term}");
}

/// Data that a chart must survive: every shape here renders, and never panics.
fn awkward_line_charts() -> Vec<LineChart> {
    let base = || LineChart::new("awkward", "x", "y");
    vec![
        base(),
        base().series("empty", []),
        base().series("one point", [(3.0, 4.0)]),
        base().series("flat", [(0.0, 7.0), (1.0, 7.0), (2.0, 7.0)]),
        base().series("zeros", [(0.0, 0.0), (1.0, 0.0)]),
        base()
            .log_y()
            .series("zeros, log y", [(0.0, 0.0), (1.0, 0.0)]),
        base()
            .log_y()
            .series("gap at zero", [(0.0, 5.0), (1.0, 0.0), (2.0, 50.0)]),
        base()
            .log_x()
            .series("x from zero", [(0.0, 1.0), (10.0, 2.0)]),
        base().log_x().log_y().series("one point", [(1.0, 1.0)]),
        base().series("not numbers", [(f64::NAN, 1.0), (1.0, f64::INFINITY)]),
        base().series("negative", [(-5.0, -2.0), (5.0, 3.0)]),
        base().series("tiny", [(0.0, 1e-9), (1e-9, 2e-9)]),
        base().series("huge", [(0.0, 1e12), (1.0, 3e12)]),
        base()
            .log_y()
            .series("many decades", [(0.0, 1e-6), (1.0, 1e9)]),
        (0..12).fold(base(), |c, i| {
            c.series(
                &format!("series number {i} with a long, long name"),
                [(0.0, f64::from(i)), (1.0, 1.0)],
            )
        }),
    ]
}

fn awkward_distributions() -> Vec<Distribution> {
    let base = || Distribution::new("awkward", "latency (ms)");
    vec![
        base(),
        base().sample("empty", []),
        base().sample("one", [4.0]),
        base().sample("all equal", [2.5; 100]),
        base().sample("zeros", [0.0; 10]),
        base().sample("negative and zero", [-1.0, 0.0, 3.0]),
        base().sample("not numbers", [f64::NAN, f64::INFINITY]),
        base().sample("a", [1.0]).sample("b", [1e6]),
        (0..10).fold(base(), |d, i| {
            d.sample(
                &format!("sample {i}"),
                latencies(i, 50, 10f64.powi(i as i32 - 3), 1.0),
            )
        }),
    ]
}

#[test]
fn points_a_log_axis_cannot_show_break_the_line_or_are_named_missing() {
    let gap = LineChart::new("gap", "x", "y")
        .log_y()
        .series("depth", [(0.0, 5.0), (1.0, 0.0), (2.0, 50.0), (3.0, 60.0)])
        .svg()
        .unwrap();
    // Strokes of width 2: the legend's swatch, then the stretches of line.
    let lines = |svg: &str| svg.matches("stroke-width=\"2\"").count() - 1;
    assert_eq!(lines(&gap), 1, "the line breaks at zero: 5 stands alone");
    assert_eq!(gap.matches("<circle").count(), 3);
    let none = LineChart::new("zeros", "x", "y")
        .log_y()
        .series("depth", [(0.0, 0.0), (1.0, 0.0)])
        .svg()
        .unwrap();
    assert!(texts(&none).contains(&"depth (no points to show)".to_string()));
    assert_eq!(lines(&none), 0);
}

#[test]
fn awkward_data_never_panics_and_stays_compact() {
    for chart in awkward_line_charts() {
        let svg = chart.svg().unwrap();
        assert_well_formed(&svg);
        assert_compact(&chart.terminal(plain()));
    }
    for dist in awkward_distributions() {
        let svg = dist.svg().unwrap();
        assert_well_formed(&svg);
        assert_compact(&dist.terminal(plain()));
    }
    let empty = Figure::new("nothing");
    assert_well_formed(&empty.svg().unwrap());
    assert_compact(&empty.terminal(plain()));
}

#[test]
fn the_terminal_line_chart_gives_each_series_a_labelled_band() {
    let text = depth_chart().terminal(plain());
    assert_compact(&text);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Queue depth over 6 min of simulated time");
    let retry = lines
        .iter()
        .position(|l| l.starts_with("retry queue"))
        .unwrap();
    let dead = lines
        .iter()
        .position(|l| l.starts_with("dead letters"))
        .unwrap();
    assert_eq!(dead - retry, 4, "two series share eight rows:\n{text}");
    // Each band is labelled with its own top and bottom: 0 to the peak.
    assert!(lines[retry].contains(" 135 ┤"), "{text}");
    assert!(lines[dead].contains(" 108 ┤"), "{text}");
    assert!(lines[dead + 3].trim_start().starts_with("0 ┤▁"), "{text}");
    // The x axis has its ticks and title; the plot only blocks.
    assert!(lines[lines.len() - 3].trim_start().starts_with('└'));
    let ticks: Vec<&str> = lines[lines.len() - 2].split_whitespace().collect();
    assert_eq!(ticks, ["0", "1", "2", "3", "4", "5", "6"]);
    assert_eq!(lines[lines.len() - 1].trim(), "simulated time (min)");
    for line in &lines[retry..dead + 4] {
        let plot = &line[line.find(['┤', '│']).unwrap() + 3..];
        assert!(
            plot.chars().all(|c| c == ' ' || ('▁'..='█').contains(&c)),
            "{line}"
        );
    }
}

#[test]
fn the_terminal_charts_read_the_same_without_colour() {
    let strip = |s: String| {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                chars.by_ref().find(|c| *c == 'm');
            } else {
                out.push(c);
            }
        }
        out
    };
    let colour = Paint::new(ColorChoice::Always);
    let chart = depth_chart();
    assert_ne!(
        chart.terminal(colour),
        chart.terminal(plain()),
        "title bold"
    );
    assert_eq!(strip(chart.terminal(colour)), chart.terminal(plain()));
    let dist = cdc_against_polling();
    assert_eq!(strip(dist.terminal(colour)), dist.terminal(plain()));
}

#[test]
fn the_terminal_distribution_marks_p50_and_p99_under_each_sample() {
    let text = cdc_against_polling().terminal(plain());
    assert_compact(&text);
    let lines: Vec<&str> = text.lines().collect();
    let band = |name: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(name) && l.contains('│'))
            .unwrap()
    };
    let (cdc, polling) = (band("CDC "), band("polling 500 ms"));
    assert!(
        lines[cdc].ends_with(" ms") && lines[cdc].contains("p50 1."),
        "{text}"
    );
    assert!(lines[cdc + 1].contains("p99 "));
    assert!(lines[cdc + 2].ends_with("n 10002"));
    let (cdc_markers, polling_markers) = (lines[polling - 1], lines[polling + 3]);
    for markers in [cdc_markers, polling_markers] {
        assert_eq!(markers.matches('▲').count(), 2, "{text}");
        assert!(markers.contains("p50") && markers.contains("p99"), "{text}");
    }
    // CDC's markers sit left of polling's: it is faster.
    let col = |l: &str| l.chars().position(|c| c == '▲').unwrap();
    assert!(col(cdc_markers) + 20 < col(polling_markers), "{text}");
    let ticks: Vec<&str> = lines[lines.len() - 2].split_whitespace().collect();
    assert_eq!(ticks, ["0.01", "0.1", "1", "10", "100", "1k"]);
}

#[test]
fn many_samples_drop_the_markers_but_keep_the_figures() {
    let dist = (0..6).fold(Distribution::new("six", "ms"), |d, i| {
        d.sample(&format!("s{i}"), latencies(i, 200, 1.0 + i as f64, 0.5))
    });
    let text = dist.terminal(plain());
    assert_compact(&text);
    assert!(text.starts_with("six  (p50 / p99 at the right)"));
    assert!(!text.contains('▲'));
    assert_eq!(text.lines().filter(|l| l.ends_with(" ms")).count(), 6);
}

#[test]
fn a_sparkline_keeps_peaks_and_fits_its_width() {
    let mut values = vec![1.0; 500];
    values[333] = 90.0;
    let line = sparkline(&values, 60);
    assert_eq!(line.chars().count(), 60);
    assert_eq!(line.matches('█').count(), 1, "the spike survives: {line}");
    assert_eq!(sparkline(&[0.0, 0.0, 0.0], 60), "▁▁▁");
    assert_eq!(sparkline(&[], 60), "");
    assert_eq!(sparkline(&[1.0, 2.0], 0), "");
    assert_eq!(sparkline(&[0.0, 4.0, 8.0], 10), "▁▄█");
}

#[test]
fn only_svg_paths_are_accepted() {
    for ok in ["out.svg", "dir/chart.SVG", "/tmp/a.b.svg"] {
        assert!(check_svg_path(Path::new(ok)).is_ok(), "{ok}");
    }
    for bad in ["out.png", "out", "svg", ".svg", "dir/", "out.svg.png"] {
        let err = check_svg_path(Path::new(bad)).unwrap_err().to_string();
        assert!(err.contains("ending in .svg"), "{bad}: {err}");
        assert!(err.contains(bad), "{bad}: {err}");
    }
}

#[test]
fn writing_replaces_the_file_whole_and_names_it_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chart.svg");
    write_svg(&path, "<svg>old</svg>").unwrap();
    write_svg(&path, "<svg>new</svg>").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "<svg>new</svg>");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["chart.svg"], "no temporary file left behind");

    let missing = dir.path().join("no-such-dir").join("chart.svg");
    let err = format!("{:#}", write_svg(&missing, "<svg/>").unwrap_err());
    assert!(
        err.starts_with(&format!("cannot write chart to {}: ", missing.display())),
        "{err}"
    );
}
